-- 0003 readings store: rollups, retention, chartable views, flags and provenance.
--
-- Rollups.  Three levels, hourly, daily and monthly, all with the same columns
-- on both storage paths, so every query (the store's, Grafana's) is the same
-- text on TimescaleDB and on native partitions:
--
--     meter_id, register, bucket (UTC start), first_at, first_value,
--     last_at, last_value, min_value, max_value, readings
--
-- first/last carry the register values at the edges of a bucket: for a
-- cumulative counter a consumption between bucket edges is a difference of
-- two last_values, so a month of 2,880 quarter-hour readings is read as one
-- row.  Buckets are UTC; a bill's cut-off in local time is served from the
-- edge readings themselves (api/store/unit_consumption.py), never from a
-- bucket that straddles it.
--
-- * TimescaleDB: continuous aggregates (``WITH (timescaledb.continuous)``),
--   materialized only (``timescaledb.materialized_only = true``) so that both
--   paths return what was last refreshed and nothing else; refresh policies
--   keep them current, ``CALL refresh_continuous_aggregate`` refreshes on
--   demand.  Raw readings are compressed, segmented by meter and register.
-- * Native: plain tables, refreshed incrementally by
--   ``meterbill_refresh_rollups(up_to)``: each rollup keeps a watermark (the
--   end of its last complete bucket), a refresh materializes the complete
--   buckets from the watermark to ``up_to``, and readings that arrive late
--   (before a watermark) are logged by a statement trigger and their buckets
--   recomputed.
--
-- Both paths materialize complete buckets only (TimescaleDB's refresh
-- skips a bucket the window does not wholly cover): after a refresh up to
-- 12:30, the 12:00 hour, today and this month appear at the next refresh
-- after they end.  So both return the same rows.  Daily is
--   built from hourly and monthly from daily, as TimescaleDB's hierarchical
--   aggregates do, so a refresh never re-reads a month of raw readings.
--
-- Retention: ``meterbill_retention`` holds how long each relation is kept
-- (NULL = for ever); ``meterbill_set_retention`` changes it (and the
-- TimescaleDB policy), ``meterbill_apply_retention`` applies it now.  Raw
-- readings are dropped whole partitions (chunks) at a time.

CREATE TABLE meterbill_rollup_state (
    rollup        text PRIMARY KEY
                  CHECK (rollup IN ('readings_hourly', 'readings_daily', 'readings_monthly')),
    level         integer NOT NULL UNIQUE,
    bucket_width  text NOT NULL CHECK (bucket_width IN ('hour', 'day', 'month')),
    source        text NOT NULL,
    refreshed_to  timestamptz NOT NULL DEFAULT '-infinity',
    refreshed_at  timestamptz
);
INSERT INTO meterbill_rollup_state (rollup, level, bucket_width, source) VALUES
    ('readings_hourly', 1, 'hour', 'readings'),
    ('readings_daily', 2, 'day', 'readings_hourly'),
    ('readings_monthly', 3, 'month', 'readings_daily');

-- Readings written before a watermark (late or corrected data), native path.
CREATE TABLE meterbill_rollup_invalidations (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    meter_id   bigint NOT NULL,
    register   text NOT NULL,
    lo         timestamptz NOT NULL,
    hi         timestamptz NOT NULL,
    logged_at  timestamptz NOT NULL DEFAULT now()
);

-- How long each relation is kept; NULL keeps it for ever.  Raw readings are
-- what a disputed bill is re-derived from, so they are kept unless the
-- operator decides otherwise; hourly rollups only serve charts.
CREATE TABLE meterbill_retention (
    relation  text PRIMARY KEY
              CHECK (relation IN ('readings', 'readings_hourly', 'readings_daily', 'readings_monthly')),
    keep      interval CHECK (keep IS NULL OR keep > INTERVAL '0')
);
INSERT INTO meterbill_retention (relation, keep) VALUES
    ('readings', NULL),
    ('readings_hourly', INTERVAL '3 years'),
    ('readings_daily', NULL),
    ('readings_monthly', NULL);

DO $migration$
DECLARE
    kind text := (SELECT s.kind FROM meterbill_storage s);
    rollup record;
BEGIN
    IF kind = 'timescaledb' THEN
        -- Compression: one segment per meter register, ordered by time, so a
        -- compressed month of one meter decompresses alone.
        ALTER TABLE readings SET (
            timescaledb.compress,
            timescaledb.compress_segmentby = 'meter_id, register',
            timescaledb.compress_orderby = 'read_at');
        PERFORM add_compression_policy('readings', compress_after => INTERVAL '2 months');

        CREATE MATERIALIZED VIEW readings_hourly
            WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
            SELECT meter_id, register, time_bucket(INTERVAL '1 hour', read_at) AS bucket,
                   min(read_at) AS first_at, first(value, read_at) AS first_value,
                   max(read_at) AS last_at, last(value, read_at) AS last_value,
                   min(value) AS min_value, max(value) AS max_value, count(*) AS readings
              FROM readings
             GROUP BY meter_id, register, time_bucket(INTERVAL '1 hour', read_at)
            WITH NO DATA;
        CREATE MATERIALIZED VIEW readings_daily
            WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
            SELECT meter_id, register, time_bucket(INTERVAL '1 day', read_at) AS bucket,
                   min(read_at) AS first_at, first(value, read_at) AS first_value,
                   max(read_at) AS last_at, last(value, read_at) AS last_value,
                   min(value) AS min_value, max(value) AS max_value, count(*) AS readings
              FROM readings
             GROUP BY meter_id, register, time_bucket(INTERVAL '1 day', read_at)
            WITH NO DATA;
        CREATE MATERIALIZED VIEW readings_monthly
            WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
            SELECT meter_id, register, time_bucket(INTERVAL '1 month', read_at) AS bucket,
                   min(read_at) AS first_at, first(value, read_at) AS first_value,
                   max(read_at) AS last_at, last(value, read_at) AS last_value,
                   min(value) AS min_value, max(value) AS max_value, count(*) AS readings
              FROM readings
             GROUP BY meter_id, register, time_bucket(INTERVAL '1 month', read_at)
            WITH NO DATA;
        -- Each window covers more than two buckets, as the policy requires;
        -- late data older than the window is refreshed by `meterbill store
        -- refresh --since`.
        PERFORM add_continuous_aggregate_policy('readings_hourly',
            start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 minute',
            schedule_interval => INTERVAL '15 minutes');
        PERFORM add_continuous_aggregate_policy('readings_daily',
            start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 minute',
            schedule_interval => INTERVAL '1 hour');
        PERFORM add_continuous_aggregate_policy('readings_monthly',
            start_offset => INTERVAL '3 months', end_offset => INTERVAL '1 minute',
            schedule_interval => INTERVAL '1 day');
        PERFORM add_retention_policy('readings_hourly', drop_after => INTERVAL '3 years');
    ELSE
        -- BRIN on read_at: readings arrive in time order, so each partition's
        -- pages are nearly sorted and a range of a few kB answers time scans
        -- that do not name a meter (the DEFAULT partition, retention).
        CREATE INDEX readings_read_at_brin ON readings USING brin (read_at);
        FOR rollup IN SELECT s.rollup FROM meterbill_rollup_state s LOOP
            EXECUTE format(
                'CREATE TABLE %I (
                     meter_id     bigint NOT NULL,
                     register     text NOT NULL,
                     bucket       timestamptz NOT NULL,
                     first_at     timestamptz NOT NULL,
                     first_value  numeric NOT NULL,
                     last_at      timestamptz NOT NULL,
                     last_value   numeric NOT NULL,
                     min_value    numeric NOT NULL,
                     max_value    numeric NOT NULL,
                     readings     bigint NOT NULL,
                     PRIMARY KEY (meter_id, register, bucket))', rollup.rollup);
            EXECUTE format('CREATE INDEX %I ON %I USING brin (bucket)',
                           rollup.rollup || '_bucket_brin', rollup.rollup);
        END LOOP;
    END IF;
END
$migration$;

-- Native path: log readings written before the hourly watermark, so their
-- buckets are recomputed by the next refresh (readings after it are covered
-- by the refresh's range anyway).
CREATE FUNCTION meterbill_log_rollup_invalidation() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO meterbill_rollup_invalidations (meter_id, register, lo, hi)
    SELECT n.meter_id, n.register, min(n.read_at), max(n.read_at)
      FROM new_rows n
     WHERE n.read_at < (SELECT refreshed_to FROM meterbill_rollup_state
                         WHERE rollup = 'readings_hourly')
     GROUP BY n.meter_id, n.register;
    RETURN NULL;
END
$fn$;

DO $triggers$
BEGIN
    IF (SELECT kind FROM meterbill_storage) = 'native' THEN
        CREATE TRIGGER readings_rollup_invalidation_insert AFTER INSERT ON readings
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION meterbill_log_rollup_invalidation();
        CREATE TRIGGER readings_rollup_invalidation_update AFTER UPDATE ON readings
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION meterbill_log_rollup_invalidation();
    END IF;
END
$triggers$;

-- Recomputes one native rollup's buckets in [from_ts, to_ts) from its source,
-- for one meter register or (both NULL) for all.  Returns the buckets written.
CREATE FUNCTION meterbill_rebuild_rollup(p_rollup text, p_meter_id bigint, p_register text,
                                         from_ts timestamptz, to_ts timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    st meterbill_rollup_state;
    written bigint;
    filter text := '';
BEGIN
    SELECT * INTO STRICT st FROM meterbill_rollup_state WHERE rollup = p_rollup;
    IF from_ts >= to_ts THEN
        RETURN 0;
    END IF;
    IF p_meter_id IS NOT NULL THEN
        filter := ' AND meter_id = $3 AND register = $4';
    END IF;
    EXECUTE format('DELETE FROM %I WHERE bucket >= $1 AND bucket < $2', st.rollup) || filter
        USING from_ts, to_ts, p_meter_id, p_register;
    IF st.source = 'readings' THEN
        EXECUTE format(
            'INSERT INTO %I
             SELECT meter_id, register, date_trunc(%L, read_at, ''UTC''),
                    min(read_at), (array_agg(value ORDER BY read_at))[1],
                    max(read_at), (array_agg(value ORDER BY read_at DESC))[1],
                    min(value), max(value), count(*)
               FROM readings
              WHERE read_at >= $1 AND read_at < $2', st.rollup, st.bucket_width)
            || filter || ' GROUP BY 1, 2, 3'
            USING from_ts, to_ts, p_meter_id, p_register;
    ELSE
        EXECUTE format(
            'INSERT INTO %I
             SELECT meter_id, register, date_trunc(%L, bucket, ''UTC''),
                    min(first_at), (array_agg(first_value ORDER BY first_at))[1],
                    max(last_at), (array_agg(last_value ORDER BY last_at DESC))[1],
                    min(min_value), max(max_value), sum(readings)
               FROM %I
              WHERE bucket >= $1 AND bucket < $2', st.rollup, st.bucket_width, st.source)
            || filter || ' GROUP BY 1, 2, 3'
            USING from_ts, to_ts, p_meter_id, p_register;
    END IF;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$fn$;

-- Native incremental refresh of all three rollups: every complete bucket
-- that ends at or before up_to.  Returns, per rollup, the buckets written and
-- its new watermark.  Runs one at a time (advisory lock), so a cron job and
-- an operator cannot interleave.
CREATE FUNCTION meterbill_refresh_rollups(up_to timestamptz DEFAULT now())
RETURNS TABLE (rollup text, buckets bigint, refreshed_to timestamptz) LANGUAGE plpgsql AS $fn$
DECLARE
    st meterbill_rollup_state;
    inv record;
    last_inv bigint;
    raw_cutoff timestamptz;
    width interval;
    written bigint;
    complete_to timestamptz;
BEGIN
    IF (SELECT kind FROM meterbill_storage) <> 'native' THEN
        RAISE EXCEPTION 'meterbill_refresh_rollups is the native path; on TimescaleDB call '
                        'refresh_continuous_aggregate (api.store.rollups.refresh does)';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('meterbill_rollup_refresh'));
    SELECT max(id) INTO last_inv FROM meterbill_rollup_invalidations;
    -- Raw readings older than their retention are gone: never recompute a
    -- bucket from what is left of them.
    raw_cutoff := coalesce(up_to - (SELECT keep FROM meterbill_retention
                                    WHERE relation = 'readings'), '-infinity');
    FOR st IN SELECT * FROM meterbill_rollup_state s ORDER BY s.level LOOP
        width := ('1 ' || st.bucket_width)::interval;
        complete_to := greatest(st.refreshed_to, date_trunc(st.bucket_width, up_to, 'UTC'));
        written := 0;
        FOR inv IN SELECT i.meter_id, i.register, min(i.lo) AS lo, max(i.hi) AS hi
                     FROM meterbill_rollup_invalidations i
                    WHERE i.id <= last_inv
                    GROUP BY i.meter_id, i.register LOOP
            written := written + meterbill_rebuild_rollup(
                st.rollup, inv.meter_id, inv.register,
                greatest(date_trunc(st.bucket_width, inv.lo, 'UTC'),
                         date_trunc(st.bucket_width, raw_cutoff, 'UTC') + width),
                least(date_trunc(st.bucket_width, inv.hi, 'UTC') + width, st.refreshed_to));
        END LOOP;
        written := written + meterbill_rebuild_rollup(
            st.rollup, NULL, NULL,
            greatest(st.refreshed_to, date_trunc(st.bucket_width, raw_cutoff, 'UTC') + width),
            complete_to);
        UPDATE meterbill_rollup_state s
           SET refreshed_to = complete_to, refreshed_at = now()
         WHERE s.rollup = st.rollup;
        rollup := st.rollup;
        buckets := written;
        refreshed_to := complete_to;
        RETURN NEXT;
    END LOOP;
    DELETE FROM meterbill_rollup_invalidations WHERE id <= last_inv;
END
$fn$;

-- Changes how long a relation is kept (NULL: for ever).  Raw readings are
-- kept at least 4 months: the TimescaleDB refresh windows reach 3 months back
-- and must never re-aggregate a dropped chunk (that would empty its buckets).
CREATE FUNCTION meterbill_set_retention(p_relation text, p_keep interval)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    IF p_relation = 'readings' AND p_keep IS NOT NULL AND p_keep < INTERVAL '4 months' THEN
        RAISE EXCEPTION 'retention of readings = %: must be at least 4 months', p_keep;
    END IF;
    UPDATE meterbill_retention SET keep = p_keep WHERE relation = p_relation;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'retention: unknown relation %; one of readings, readings_hourly, '
                        'readings_daily, readings_monthly', p_relation;
    END IF;
    IF (SELECT kind FROM meterbill_storage) = 'timescaledb' THEN
        PERFORM remove_retention_policy(p_relation::regclass, if_exists => true);
        IF p_keep IS NOT NULL THEN
            PERFORM add_retention_policy(p_relation::regclass, drop_after => p_keep);
        END IF;
    END IF;
END
$fn$;

-- Applies the retention now (as of at_ts): whole monthly partitions (chunks)
-- wholly older than the cut-off are dropped, and the DEFAULT partition and
-- native rollups are trimmed to it.  Returns what was removed per relation.
CREATE FUNCTION meterbill_apply_retention(at_ts timestamptz DEFAULT now())
RETURNS TABLE (relation text, cutoff timestamptz, partitions_dropped integer,
               rows_deleted bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    r meterbill_retention;
    part record;
    native boolean := (SELECT kind FROM meterbill_storage) = 'native';
BEGIN
    FOR r IN SELECT * FROM meterbill_retention WHERE keep IS NOT NULL ORDER BY relation LOOP
        relation := r.relation;
        cutoff := at_ts - r.keep;
        partitions_dropped := 0;
        rows_deleted := 0;
        IF NOT native THEN
            SELECT count(*) INTO partitions_dropped
              FROM drop_chunks(r.relation::regclass, older_than => cutoff);
        ELSIF r.relation = 'readings' THEN
            FOR part IN
                SELECT c.relname
                  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = 'readings'::regclass
                   AND c.relname ~ '^readings_y[0-9]{4}m[0-9]{2}$'
                   AND (to_date(substr(c.relname, 11), 'YYYY"m"MM') + INTERVAL '1 month')
                       ::timestamp AT TIME ZONE 'UTC' <= cutoff
            LOOP
                EXECUTE format('DROP TABLE %I', part.relname);
                partitions_dropped := partitions_dropped + 1;
            END LOOP;
            DELETE FROM readings_default WHERE read_at < cutoff;
            GET DIAGNOSTICS rows_deleted = ROW_COUNT;
        ELSE
            EXECUTE format('DELETE FROM %I WHERE bucket < $1', r.relation) USING cutoff;
            GET DIAGNOSTICS rows_deleted = ROW_COUNT;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$fn$;

-- Chartable views (Grafana, psql, any SQL client): consumption per day from
-- the daily rollup.  A day's consumption is its last register value minus
-- the previous day's (the first day of a series: last minus first).  A
-- negative step (rollover, exchange, reset) is not a consumption: it shows as
-- NULL with register_step_negative set; billing figures with those resolved
-- come from the consumption engine (consumption_figures).
CREATE VIEW meter_daily_consumption AS
SELECT s.day, s.meter_id, m.serial, m.medium, m.role, m.physical_unit, m.building_id,
       m.unit_id, s.register, s.first_value, s.last_value, s.readings,
       CASE WHEN s.step >= 0 THEN s.step END AS consumption,
       s.step < 0 AS register_step_negative
  FROM (SELECT d.bucket AS day, d.meter_id, d.register, d.first_value, d.last_value, d.readings,
               d.last_value - coalesce(lag(d.last_value) OVER (
                   PARTITION BY d.meter_id, d.register ORDER BY d.bucket), d.first_value) AS step
          FROM readings_daily d) s
  JOIN meters m ON m.id = s.meter_id;

CREATE VIEW unit_daily_consumption AS
SELECT c.day, c.unit_id, u.code AS unit_code, c.building_id, c.medium, c.register,
       c.physical_unit, sum(c.consumption) AS consumption, count(*) AS meters,
       bool_or(c.register_step_negative) AS register_step_negative
  FROM meter_daily_consumption c JOIN units u ON u.id = c.unit_id
 WHERE c.role = 'sub'
 GROUP BY c.day, c.unit_id, u.code, c.building_id, c.medium, c.register, c.physical_unit;

CREATE VIEW building_daily_consumption AS
SELECT c.day, c.building_id, b.code AS building_code, c.medium, c.role, c.register,
       c.physical_unit, sum(c.consumption) AS consumption, count(*) AS meters,
       bool_or(c.register_step_negative) AS register_step_negative
  FROM meter_daily_consumption c JOIN buildings b ON b.id = c.building_id
 GROUP BY c.day, c.building_id, b.code, c.medium, c.role, c.register, c.physical_unit;

CREATE VIEW medium_daily_consumption AS
SELECT c.day, c.medium, c.role, c.register, c.physical_unit,
       sum(c.consumption) AS consumption, count(*) AS meters
  FROM meter_daily_consumption c
 GROUP BY c.day, c.medium, c.role, c.register, c.physical_unit;

-- Per unit and month from the monthly rollup: the same step rule.
CREATE VIEW unit_monthly_consumption AS
SELECT s.month, m.unit_id, m.building_id, m.medium, s.register, m.physical_unit,
       sum(CASE WHEN s.step >= 0 THEN s.step END) AS consumption,
       bool_or(s.step < 0) AS register_step_negative
  FROM (SELECT mo.bucket AS month, mo.meter_id, mo.register,
               mo.last_value - coalesce(lag(mo.last_value) OVER (
                   PARTITION BY mo.meter_id, mo.register ORDER BY mo.bucket),
                   mo.first_value) AS step
          FROM readings_monthly mo) s
  JOIN meters m ON m.id = s.meter_id
 WHERE m.role = 'sub'
 GROUP BY s.month, m.unit_id, m.building_id, m.medium, s.register, m.physical_unit;

-- Validation flags: one row per flagged interval of a meter register, with
-- the rule and a reason a person can read.
CREATE TABLE consumption_flags (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    meter_id        bigint NOT NULL REFERENCES meters(id),
    register        text NOT NULL,
    interval_start  timestamptz NOT NULL,
    interval_end    timestamptz NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('negative', 'stuck', 'spike', 'gap',
                        'night_flow', 'reset', 'rollover', 'exchange', 'estimated',
                        'losses_ratio')),
    reason          text NOT NULL,
    details         jsonb NOT NULL DEFAULT '{}',
    detected_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (interval_end >= interval_start),
    UNIQUE (meter_id, register, kind, interval_start, interval_end)
);
CREATE INDEX consumption_flags_meter_idx ON consumption_flags (meter_id, register, interval_start);

-- A consumption figure as a bill uses it, with its provenance: the readings
-- used, how each edge was valued (reading on the edge, linear interpolation),
-- estimation (HeizkostenV §9a), rollovers and exchanges crossed.
CREATE TABLE consumption_figures (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    building_id    bigint NOT NULL REFERENCES buildings(id),
    unit_id        bigint REFERENCES units(id),
    meter_id       bigint REFERENCES meters(id),
    medium         text NOT NULL,
    register       text NOT NULL,
    period_start   timestamptz NOT NULL,
    period_end     timestamptz NOT NULL,
    quantity       numeric NOT NULL,
    physical_unit  text NOT NULL,
    method         text NOT NULL,
    estimated      boolean NOT NULL DEFAULT false,
    provenance     jsonb NOT NULL,
    computed_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (period_end > period_start)
);
CREATE INDEX consumption_figures_unit_idx ON consumption_figures (unit_id, period_start);

CREATE TABLE consumption_figure_flags (
    figure_id  bigint NOT NULL REFERENCES consumption_figures(id) ON DELETE CASCADE,
    flag_id    bigint NOT NULL REFERENCES consumption_flags(id),
    PRIMARY KEY (figure_id, flag_id)
);
