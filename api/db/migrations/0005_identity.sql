-- 0005 identity: users, scoped roles, sessions, API keys, invitations, audit log,
-- the application role and row-level security on tenant-visible tables.
--
-- Two walls (issue 10): the application checks permissions (api/permissions.py),
-- and PostgreSQL hides rows outside the caller's scope even from raw SQL.
--
-- The API runs every request inside one transaction that starts with
--     SET LOCAL ROLE meterbill_app;
--     SELECT set_config('meterbill.user_id', '<id>', true);        -- a user, or
--     SELECT set_config('meterbill.api_key_id', '<id>', true);     -- an API key
--     SELECT set_config('meterbill.billing_building_id', '<id>', true);  -- optional
-- meterbill_app owns nothing and has no BYPASSRLS, so the policies below apply
-- to it; the migration owner (and superusers) bypass them, which is what the
-- gateway ingest and the migrations need. With none of the settings set, every
-- policy sees an empty scope: the wall fails closed.
--
-- For tables added by later migrations (readings store, ledger, tickets …):
--     SELECT meterbill_grant_app('my_table');                 -- privileges only
--     SELECT meterbill_enable_tenant_rls('my_table', 'unit_id');        -- unit rows
--     SELECT meterbill_enable_building_rls('my_table', 'building_id');  -- whole-building rows
--     SELECT meterbill_enable_property_rls('my_table', 'property_id');  -- whole-property rows
-- Each helper grants the table to meterbill_app and installs one policy for all
-- commands (USING and WITH CHECK), so a row outside the scope can be neither
-- read nor written. Partitions are never granted: access goes through the parent,
-- whose policies apply.

-- The application role is cluster-wide: tolerate it existing (another database,
-- a parallel test worker) and grant per database.
DO $role$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'meterbill_app') THEN
        BEGIN
            CREATE ROLE meterbill_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created concurrently by another migration run
        END;
    END IF;
    -- The connecting role must be able to SET ROLE meterbill_app.
    IF NOT pg_has_role(current_user, 'meterbill_app', 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT meterbill_app TO %I', current_user);
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'cannot grant meterbill_app to %: grant it as an administrator', current_user;
        END;
    END IF;
END
$role$;

CREATE TABLE users (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email            text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
    display_name     text NOT NULL DEFAULT '',
    password_hash    text,              -- NULL until an invitation is accepted
    totp_secret      text,              -- base32 (RFC 6238); NULL = not enrolled
    totp_pending     text,              -- secret offered at enrolment, not yet confirmed
    totp_last_step   bigint,            -- last accepted 30 s step: a code is good once
    failed_logins    integer NOT NULL DEFAULT 0,
    locked_until     timestamptz,
    is_active        boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_idx ON users (lower(email));

-- A role held over a scope for a time. No scope at all is the whole installation,
-- allowed for admin only. Dates are inclusive; valid_to NULL = open-ended.
CREATE TABLE role_assignments (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users(id),
    role         text NOT NULL CHECK (role IN ('admin', 'property_manager', 'accountant',
                     'caretaker', 'service_provider', 'owner', 'tenant',
                     'advisory_board_member')),
    property_id  bigint REFERENCES properties(id),
    building_id  bigint REFERENCES buildings(id),
    unit_id      bigint REFERENCES units(id),
    valid_from   date NOT NULL DEFAULT current_date,
    valid_to     date,
    granted_by   bigint REFERENCES users(id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(property_id, building_id, unit_id) <= 1),
    CHECK (role = 'admin' OR num_nonnulls(property_id, building_id, unit_id) = 1),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX role_assignments_user_idx ON role_assignments (user_id);

CREATE TABLE recovery_codes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users(id),
    code_hash  text NOT NULL UNIQUE,
    used_at    timestamptz
);

-- A login session = one refresh-token family. Access tokens name their session
-- (claim sid), so logging out ends them too.
CREATE TABLE auth_sessions (
    id          uuid PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users(id),
    mfa         boolean NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    revoked_why text
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id);

-- Refresh tokens, stored as SHA-256 of the random token (256 bits: no need for a
-- slow hash). rotated_at set = already exchanged; presenting it again revokes
-- the whole family (OAuth 2.0 Security BCP, refresh token rotation).
CREATE TABLE refresh_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id   uuid NOT NULL REFERENCES auth_sessions(id),
    token_hash   text NOT NULL UNIQUE,
    issued_at    timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    rotated_at   timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- API keys for gateways and integrations: 'mbk_<prefix>_<secret>', shown once,
-- stored as SHA-256; actions over exactly one scope (or everything for admin keys).
CREATE TABLE api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    prefix       text NOT NULL UNIQUE,
    key_hash     text NOT NULL,
    name         text NOT NULL,
    actions      text[] NOT NULL CHECK (cardinality(actions) > 0),
    property_id  bigint REFERENCES properties(id),
    building_id  bigint REFERENCES buildings(id),
    unit_id      bigint REFERENCES units(id),
    created_by   bigint REFERENCES users(id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    CHECK (num_nonnulls(property_id, building_id, unit_id) <= 1)
);

CREATE TABLE invitations (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash   text NOT NULL UNIQUE,
    email        text NOT NULL,
    role         text NOT NULL,
    property_id  bigint REFERENCES properties(id),
    building_id  bigint REFERENCES buildings(id),
    unit_id      bigint REFERENCES units(id),
    valid_from   date NOT NULL,
    valid_to     date,
    invited_by   bigint REFERENCES users(id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz
);

-- Append-only: security-relevant events; UPDATE, DELETE and TRUNCATE are refused.
CREATE TABLE audit_log (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    event            text NOT NULL,
    outcome          text NOT NULL DEFAULT 'ok' CHECK (outcome IN ('ok', 'denied', 'failed')),
    actor_user_id    bigint,
    actor_api_key_id bigint,
    actor_label      text NOT NULL DEFAULT '',
    object           text NOT NULL DEFAULT '',
    property_id      bigint,
    building_id      bigint,
    unit_id          bigint,
    request_id       text,
    source_address   text,
    detail           jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log (at);

CREATE FUNCTION meterbill_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION meterbill_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION meterbill_audit_append_only();

-- ---------------------------------------------------------------------------
-- Scope functions. SECURITY DEFINER (run as the migration owner) so they can
-- read role_assignments and every unit; STABLE, and called as (SELECT f()) in
-- policies so PostgreSQL evaluates them once per query, not once per row.

CREATE FUNCTION meterbill_setting_id(name text) RETURNS bigint
LANGUAGE sql STABLE AS $fn$
    SELECT nullif(current_setting(name, true), '')::bigint
$fn$;

-- (role, property, building, unit) scopes held now by the current principal.
CREATE FUNCTION meterbill_current_scopes()
RETURNS TABLE (role text, property_id bigint, building_id bigint, unit_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    SELECT ra.role, ra.property_id, ra.building_id, ra.unit_id
      FROM role_assignments ra JOIN users u ON u.id = ra.user_id
     WHERE ra.user_id = meterbill_setting_id('meterbill.user_id')
       AND u.is_active
       AND ra.valid_from <= current_date
       AND (ra.valid_to IS NULL OR ra.valid_to >= current_date)
    UNION ALL
    SELECT 'api_key', k.property_id, k.building_id, k.unit_id
      FROM api_keys k
     WHERE k.id = meterbill_setting_id('meterbill.api_key_id')
       AND k.revoked_at IS NULL AND k.expires_at > now()
$fn$;

-- True when the principal sees the whole installation (admin without scope,
-- or an unscoped admin API key).
CREATE FUNCTION meterbill_scope_all() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    SELECT EXISTS (SELECT 1 FROM meterbill_current_scopes() s
                    WHERE s.property_id IS NULL AND s.building_id IS NULL
                      AND s.unit_id IS NULL)
$fn$;

-- The building whose bill is being computed for this principal: a bill needs the
-- whole building's readings (the main meter and every share), so while the API
-- computes one it may set meterbill.billing_building_id. It is honoured only when
-- the principal holds, or held, some role inside that building.
CREATE FUNCTION meterbill_billing_building() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    SELECT b.id FROM buildings b
     WHERE b.id = meterbill_setting_id('meterbill.billing_building_id')
       AND EXISTS (
           SELECT 1 FROM role_assignments ra
             LEFT JOIN units u ON u.id = ra.unit_id
            WHERE ra.user_id = meterbill_setting_id('meterbill.user_id')
              AND ra.valid_from <= current_date
              AND (ra.property_id = b.property_id OR ra.building_id = b.id
                   OR u.building_id = b.id OR ra.role = 'admin'))
$fn$;

-- Buildings seen whole (every unit, main meters): building or property scope.
-- Each function computes its set once (MATERIALIZED CTEs, no per-row calls).
CREATE FUNCTION meterbill_visible_building_ids() RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    WITH s AS MATERIALIZED (SELECT * FROM meterbill_current_scopes())
    SELECT coalesce(array_agg(DISTINCT x.id), '{}') FROM (
        SELECT b.id FROM buildings b
          JOIN s ON s.building_id = b.id OR s.property_id = b.property_id
        UNION ALL
        SELECT meterbill_billing_building()
    ) x WHERE x.id IS NOT NULL
$fn$;

CREATE FUNCTION meterbill_visible_property_ids() RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    SELECT coalesce(array_agg(DISTINCT s.property_id), '{}')
      FROM meterbill_current_scopes() s WHERE s.property_id IS NOT NULL
$fn$;

CREATE FUNCTION meterbill_visible_unit_ids() RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    WITH bl AS MATERIALIZED (SELECT unnest(meterbill_visible_building_ids()) AS id)
    SELECT coalesce(array_agg(DISTINCT x.id), '{}') FROM (
        SELECT u.id FROM units u WHERE u.building_id IN (SELECT id FROM bl)
        UNION ALL
        SELECT s.unit_id FROM meterbill_current_scopes() s WHERE s.unit_id IS NOT NULL
    ) x
$fn$;

CREATE FUNCTION meterbill_visible_meter_ids() RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    WITH bl AS MATERIALIZED (SELECT unnest(meterbill_visible_building_ids()) AS id),
         un AS MATERIALIZED (
             SELECT u.id FROM units u WHERE u.building_id IN (SELECT id FROM bl)
             UNION
             SELECT s.unit_id FROM meterbill_current_scopes() s WHERE s.unit_id IS NOT NULL)
    SELECT coalesce(array_agg(m.id), '{}') FROM meters m
     WHERE m.unit_id IN (SELECT id FROM un) OR m.building_id IN (SELECT id FROM bl)
$fn$;

-- Where a unit or building sits, for the application's object-level checks
-- (answering 404 for objects outside the scope needs the place, not the rows).
CREATE FUNCTION meterbill_unit_place(p_unit_id bigint)
RETURNS TABLE (unit_id bigint, building_id bigint, property_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    SELECT u.id, b.id, b.property_id FROM units u JOIN buildings b ON b.id = u.building_id
     WHERE u.id = p_unit_id
$fn$;

CREATE FUNCTION meterbill_building_place(p_building_id bigint)
RETURNS TABLE (building_id bigint, property_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    SELECT b.id, b.property_id FROM buildings b WHERE b.id = p_building_id
$fn$;

-- ---------------------------------------------------------------------------
-- Helpers for this and later migrations.

-- Append-only tables (a row trigger refusing changes, e.g. the ledger's
-- meterbill_refuse_change or the audit log's) get SELECT and INSERT only, so the
-- application role cannot even try to rewrite history.
CREATE FUNCTION meterbill_grant_app(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                WHERE t.tgrelid = tbl
                  AND p.proname IN ('meterbill_refuse_change', 'meterbill_audit_append_only')) THEN
        EXECUTE format('GRANT SELECT, INSERT ON %s TO meterbill_app', tbl);
    ELSE
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO meterbill_app', tbl);
    END IF;
END
$fn$;

CREATE FUNCTION meterbill_enable_rls(tbl regclass, policy_name text, predicate text)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM meterbill_grant_app(tbl);
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('DROP POLICY IF EXISTS %I ON %s', policy_name, tbl);
    EXECUTE format('CREATE POLICY %I ON %s FOR ALL TO meterbill_app USING (%s) WITH CHECK (%s)',
                   policy_name, tbl, predicate, predicate);
END
$fn$;

-- Rows belonging to one unit: visible to the unit's tenant/owner and to anyone
-- scoped to its building or property.
CREATE FUNCTION meterbill_enable_tenant_rls(tbl regclass, unit_column text) RETURNS void
LANGUAGE sql AS $fn$
    SELECT meterbill_enable_rls(tbl, 'meterbill_tenant_scope', format(
        '(SELECT meterbill_scope_all()) OR %I = ANY ((SELECT meterbill_visible_unit_ids())::bigint[])',
        unit_column))
$fn$;

-- Rows about a whole building (costs, main meters, tickets of the building).
CREATE FUNCTION meterbill_enable_building_rls(tbl regclass, building_column text) RETURNS void
LANGUAGE sql AS $fn$
    SELECT meterbill_enable_rls(tbl, 'meterbill_building_scope', format(
        '(SELECT meterbill_scope_all()) OR %I = ANY ((SELECT meterbill_visible_building_ids())::bigint[])',
        building_column))
$fn$;

-- Rows about a whole property (ledger, bank accounts).
CREATE FUNCTION meterbill_enable_property_rls(tbl regclass, property_column text) RETURNS void
LANGUAGE sql AS $fn$
    SELECT meterbill_enable_rls(tbl, 'meterbill_property_scope', format(
        '(SELECT meterbill_scope_all()) OR %I = ANY ((SELECT meterbill_visible_property_ids())::bigint[])',
        property_column))
$fn$;

-- ---------------------------------------------------------------------------
-- Privileges of the application role in this database.

GRANT USAGE ON SCHEMA public TO meterbill_app;
DO $grants$
DECLARE
    t regclass;
BEGIN
    -- Every ordinary and partitioned table that exists now (including those of
    -- migrations 0003/0004), but never a partition: only through its parent.
    FOR t IN SELECT c.oid::regclass FROM pg_class c
              WHERE c.relnamespace = 'public'::regnamespace
                AND c.relkind IN ('r', 'p') AND NOT c.relispartition
    LOOP
        PERFORM meterbill_grant_app(t);
    END LOOP;
END
$grants$;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO meterbill_app;
REVOKE INSERT, UPDATE, DELETE ON schema_migrations, meterbill_storage FROM meterbill_app;
REVOKE ALL ON FUNCTION meterbill_grant_app(regclass), meterbill_enable_rls(regclass, text, text),
    meterbill_enable_tenant_rls(regclass, text), meterbill_enable_building_rls(regclass, text),
    meterbill_enable_property_rls(regclass, text) FROM PUBLIC;

-- Row-level security on the tenant-visible tables of 0001/0002.
SELECT meterbill_enable_tenant_rls('units', 'id');
SELECT meterbill_enable_tenant_rls('occupancies', 'unit_id');
SELECT meterbill_enable_rls('meters', 'meterbill_meter_scope',
    '(SELECT meterbill_scope_all()) OR unit_id = ANY ((SELECT meterbill_visible_unit_ids())::bigint[])'
    ' OR building_id = ANY ((SELECT meterbill_visible_building_ids())::bigint[])');
SELECT meterbill_enable_rls('readings', 'meterbill_reading_scope',
    '(SELECT meterbill_scope_all()) OR meter_id = ANY ((SELECT meterbill_visible_meter_ids())::bigint[])');
-- A tenant's name and e-mail: seen by those who see one of their occupancies.
SELECT meterbill_enable_rls('tenants', 'meterbill_tenant_person_scope',
    '(SELECT meterbill_scope_all()) OR id IN (SELECT o.tenant_id FROM occupancies o)');
SELECT meterbill_enable_rls('meter_exchanges', 'meterbill_exchange_scope',
    '(SELECT meterbill_scope_all()) OR old_meter_id = ANY ((SELECT meterbill_visible_meter_ids())::bigint[])');
