"""The readings store on the server side: rollup refresh, retention, consumption queries.

The schema is ``api/db/migrations/0003_readings_store.sql``; this package
is the Python face of it and the same on both storage paths (TimescaleDB
hypertable with continuous aggregates, or native partitions with
materialized rollups): ``storage_kind`` says which one a database uses.
"""

from api.store.building_common_share import (
    BuildingCommonShare,
    building_common_share,
    store_common_share,
)
from api.store.retention import RetentionResult, apply_retention, retention_settings, set_retention
from api.store.rollups import ROLLUPS, RollupRefresh, refresh_rollups, rollup_state, storage_kind
from api.store.unit_consumption import (
    UnitConsumption,
    meter_chain,
    meter_consumption,
    monthly_consumption_by_unit,
    store_figure,
    unit_consumption,
    validate_meter,
)

__all__ = [
    "ROLLUPS",
    "BuildingCommonShare",
    "RetentionResult",
    "RollupRefresh",
    "UnitConsumption",
    "apply_retention",
    "building_common_share",
    "meter_chain",
    "meter_consumption",
    "monthly_consumption_by_unit",
    "refresh_rollups",
    "retention_settings",
    "rollup_state",
    "set_retention",
    "storage_kind",
    "store_common_share",
    "store_figure",
    "unit_consumption",
    "validate_meter",
]
