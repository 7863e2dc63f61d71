-- 0002 readings: the time series every bill starts from.
--
-- Write contract (gateway.readings_writer): rows arrive by COPY into a staging
-- table and are inserted with ON CONFLICT DO NOTHING on (meter_id, register,
-- read_at), so a re-sent reading or batch is a no-op.
--
-- value is numeric, on purpose: meters report decimal registers (BCD on M-Bus,
-- scaled integers on Modbus) and bills are differences of large cumulative
-- counters. numeric keeps exactly the digits the meter reported, so a bill's
-- explanation shows the meter's own figures and two reads of the same register
-- compare equal. It costs some ingest speed against double precision (COPY of
-- numeric text is still well over 100k rows/s, see benchmarks/) and is what
-- billing needs.
--
-- register is our vocabulary (energy_import_kwh …): lower-case snake case, checked.
-- NaN and infinities are numeric values in PostgreSQL but never readings: refused.
--
-- No foreign key to meters: the staging insert joins on meters, so only known
-- meters get in, and an FK check per row would slow bulk ingest.
--
-- Storage: a TimescaleDB hypertable (monthly chunks) when the extension can be
-- created (available and preloaded); otherwise a native range-partitioned
-- table by month, partitions created ahead of time, plus a DEFAULT partition
-- so that no reading is ever refused for lack of a partition.

CREATE TABLE meterbill_storage (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    kind        text NOT NULL CHECK (kind IN ('timescaledb', 'native'))
);

DO $migration$
DECLARE
    use_timescale boolean;
BEGIN
    use_timescale := EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
        AND current_setting('shared_preload_libraries', true) LIKE '%timescaledb%'
        AND coalesce(current_setting('meterbill.storage', true), '') <> 'native';

    IF use_timescale THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
        CREATE TABLE readings (
            meter_id     bigint NOT NULL,
            register     text NOT NULL CHECK (register ~ '^[a-z][a-z0-9_]{0,62}$'),
            read_at      timestamptz NOT NULL,
            value        numeric NOT NULL CHECK (value NOT IN ('NaN', 'Infinity', '-Infinity')),
            received_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (meter_id, register, read_at)
        );
        PERFORM create_hypertable('readings', by_range('read_at', INTERVAL '1 month'));
        INSERT INTO meterbill_storage (kind) VALUES ('timescaledb');
    ELSE
        CREATE TABLE readings (
            meter_id     bigint NOT NULL,
            register     text NOT NULL CHECK (register ~ '^[a-z][a-z0-9_]{0,62}$'),
            read_at      timestamptz NOT NULL,
            value        numeric NOT NULL CHECK (value NOT IN ('NaN', 'Infinity', '-Infinity')),
            received_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (meter_id, register, read_at)
        ) PARTITION BY RANGE (read_at);
        CREATE TABLE readings_default PARTITION OF readings DEFAULT;
        INSERT INTO meterbill_storage (kind) VALUES ('native');
    END IF;
END
$migration$;

-- Creates the monthly partitions covering [from_ts, to_ts) on the native path;
-- a no-op on TimescaleDB, which creates chunks itself. Returns how many it made.
CREATE FUNCTION meterbill_ensure_reading_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
    month_start date;
    made integer := 0;
    part_name text;
BEGIN
    IF (SELECT kind FROM meterbill_storage) <> 'native' THEN
        RETURN 0;
    END IF;
    month_start := date_trunc('month', from_ts AT TIME ZONE 'UTC')::date;
    WHILE month_start < to_ts AT TIME ZONE 'UTC' LOOP
        part_name := format('readings_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
        IF to_regclass(part_name) IS NULL THEN
            -- Two writers may need the same new month: take turns, then look again.
            PERFORM pg_advisory_xact_lock(hashtext('meterbill_reading_partitions'));
        END IF;
        IF to_regclass(part_name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF readings FOR VALUES FROM (%L) TO (%L)',
                part_name,
                (month_start::timestamp AT TIME ZONE 'UTC'),
                ((month_start + INTERVAL '1 month')::timestamp AT TIME ZONE 'UTC'));
            made := made + 1;
        END IF;
        month_start := (month_start + INTERVAL '1 month')::date;
    END LOOP;
    RETURN made;
END
$fn$;

-- Three years back and one year ahead, so normal operation never needs DDL.
SELECT meterbill_ensure_reading_partitions(now() - INTERVAL '36 months', now() + INTERVAL '13 months');

-- Readings whose meter serial is unknown are kept, not dropped: an operator
-- registers the meter and replays them.
CREATE TABLE readings_quarantine (
    meter_serial  text NOT NULL,
    register      text NOT NULL,
    read_at       timestamptz NOT NULL,
    value         numeric NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    reason        text NOT NULL,
    PRIMARY KEY (meter_serial, register, read_at)
);
