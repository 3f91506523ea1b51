"""Output: a run's files and tables, written under temporary names and committed together.

``layout`` (where files go), ``formats`` (encoders), ``files`` (one file being
written), ``commit`` (all files of a run: open, write, finish, publish or
abort), ``writer`` (the background lanes that write batches while the next
ones are generated), ``tables`` (Delta Lake and Iceberg commits) and
``datetext`` (dates as text and amounts as decimals, for CSV and JSON lines).
"""
