"""``vecgen publish``: upload today's local files to S3 (server-side encrypted).

The user command above the S3 plumbing (:mod:`vecgen.remote`) and the output
layout (:mod:`vecgen.output.layout`); neither of them imports it.
"""

from __future__ import annotations

import os
import posixpath

from vecgen.config import Config
from vecgen.errors import OutputError
from vecgen.output.layout import final_path
from vecgen.plan import resolve
from vecgen.remote import MULTIPART_CHUNK, describe_remote_error, filesystem


def publish(config: Config, to: str) -> list[tuple[str, str, int]]:
    """Upload today's local files of ``config.out`` to ``to`` (an s3:// URL), encrypted.

    Returns ``(local path, remote path, bytes)`` per file. Objects appear only
    when complete (multipart uploads are aborted on failure).
    """
    plan = resolve(config)
    local_fs, local_root = filesystem(config.out, config)
    files = []
    for source in plan.sources:
        for fmt in config.formats:
            path = final_path(plan, local_root, source, fmt)
            folder = posixpath.dirname(path)
            if config.layout == "lake":
                found = [
                    p
                    for p in local_fs.glob(posixpath.join(folder, "part-*"))
                    if not posixpath.basename(p).startswith(".")
                ]
            else:
                found = [path] if local_fs.exists(path) else []
            files += [p for p in found if p.endswith("." + path.rsplit(".", 1)[1])]
    if not files:
        raise OutputError(f"nothing to publish: no files of {plan.run_date} under {config.out}")
    remote_fs, remote_root = filesystem(to, config)
    done = []
    for path in sorted(set(files)):
        rel = posixpath.relpath(path, local_root)
        target = posixpath.join(remote_root, rel)
        try:
            remote_fs.put_file(path, target, chunksize=MULTIPART_CHUNK)
        except Exception as exc:
            raise OutputError(describe_remote_error(exc, to, config)) from None
        done.append((path, target, os.path.getsize(path)))
    return done
