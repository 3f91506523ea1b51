"""A Parquet file's waiting rows hold only their own text, not their batch's."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from vecgen.output.files import FileSink
from vecgen.output.formats import ParquetOptions
from vecgen.sources.base import WriteOptions


def test_rows_waiting_for_a_row_group_do_not_keep_the_batch(tmp_path: Path) -> None:
    """Rows left after the full row groups are a compact copy; the file reads back whole."""
    text = [f"{i:06d}-" + "x" * 40 for i in range(2500)]  # longer than a view's inline 12 bytes
    frame = pl.DataFrame({"text": text, "n": range(2500)})
    path = tmp_path / "t.parquet"
    sink = FileSink(
        "customers",
        "parquet",
        str(path),
        str(path),
        WriteOptions(),
        parquet=ParquetOptions(row_group_rows=1000),
    )
    with path.open("wb") as sink.handle:
        sink.write(frame)
        (waiting,) = sink._pending
        assert waiting.num_rows == 500
        # 500 rows of ~47 bytes of text (and their views): not the batch's 2,500 rows.
        assert waiting.get_total_buffer_size() < 500 * (47 + 16 + 8) * 1.5
        sink.write(frame)
        sink._flush_row_groups(final=True)
        sink._parquet.close()
    back = pq.read_table(path)
    assert back.column("text").to_pylist() == text * 2
    assert [back.num_rows, pq.ParquetFile(path).num_row_groups] == [5000, 5]
