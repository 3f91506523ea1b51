"""Daily extras: tracer QA records, archival re-injection, and earlier days' files.

- ``tracer``: ``tracer/tracer.csv`` (hand-made QA people, customers columns plus an
  optional ``master_id``) is validated, added to today's customers with new
  customer_ids, and moved to ``tracer/consumed/`` once the run is published.
- ``archival``: people from earlier days' customer files are re-read, fuzzed and
  added as new customers, linked in truth to their original entity.
- ``earlier``: finding and reading earlier days' files (archival, the change
  feed, ``vecgen transactions``).
- ``extra``: what tracer, archival and the change feed hand the engine.
"""
