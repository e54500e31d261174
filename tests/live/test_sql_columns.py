"""The explicit column lists of sql.py name exactly the fields of the rows they carry, in order, and the tables have
those columns: a field added to a model without its column (or the reverse) fails here, not as shifted data."""

from __future__ import annotations

from backend.live import sql
from backend.live.database import Database
from backend.live.models import FillRow, OrderChange, OrderEventRow


def test_staging_column_lists_are_the_row_fields() -> None:
    assert sql.STAGE_FILL_COLUMNS == FillRow.__struct_fields__
    assert sql.STAGE_ORDER_CHANGE_COLUMNS == OrderChange.__struct_fields__
    assert sql.STAGE_ORDER_EVENT_COLUMNS == OrderEventRow.__struct_fields__


async def test_the_tables_have_every_listed_column(db: Database) -> None:
    async with db.pool.acquire() as conn:
        await conn.execute(sql.CREATE_STAGING_TABLES)

        async def columns(table: str) -> set[str]:
            return {r["attname"] for r in await conn.fetch(
                "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
                table)}

        assert set(sql.STAGE_FILL_COLUMNS) == await columns("fills") == await columns(sql.STAGE_FILLS)
        assert set(sql.STAGE_ORDER_CHANGE_COLUMNS) == await columns(sql.STAGE_ORDER_CHANGES)
        assert set(sql.STAGE_ORDER_EVENT_COLUMNS) <= await columns(sql.STAGE_ORDER_EVENTS)
