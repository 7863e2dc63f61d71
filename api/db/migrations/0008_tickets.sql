-- 0008 tickets: damage reports and requests, resident → property manager → provider
-- (the end-to-end model of DIN SPEC 77008).
--
-- People are referred to by user id (bigint) without a foreign key: user
-- accounts belong to the identity migration, and a provider acting through a
-- link, or the system itself, has no account.  E-mail addresses that
-- notifications go to are stored where they are needed (reporter, provider,
-- watcher), so a notification never needs a join into identity.
--
-- ticket_history is the single source for every status change, comment and
-- assignment; metrics (MTTR, first response, SLA) are computed from it.

CREATE TABLE ticket_providers (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    property_id  bigint REFERENCES properties(id),   -- NULL = may work for every property
    name         text NOT NULL,
    email        text NOT NULL,
    active       boolean NOT NULL DEFAULT true
);

-- Accounts (identity's service_provider users) that act for a provider company.
CREATE TABLE ticket_provider_users (
    provider_id  bigint NOT NULL REFERENCES ticket_providers(id),
    user_id      bigint NOT NULL,
    PRIMARY KEY (provider_id, user_id)
);

CREATE TABLE ticket_categories (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    property_id  bigint NOT NULL REFERENCES properties(id),
    name         text NOT NULL CHECK (length(trim(name)) > 0),
    UNIQUE (property_id, name)
);

-- Per property: the manager who gets escalations, and the optional arrears rule
-- (off by default: a ticket is never refused, only flagged for the manager).
CREATE TABLE ticket_property_settings (
    property_id           bigint PRIMARY KEY REFERENCES properties(id),
    manager_email         text,
    arrears_flag_enabled  boolean NOT NULL DEFAULT false
);

-- Routing per property × category (category NULL = the property's fallback).
CREATE TABLE ticket_routing_rules (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    property_id        bigint NOT NULL REFERENCES properties(id),
    category_id        bigint REFERENCES ticket_categories(id),
    action             text NOT NULL CHECK (action IN ('await_approval', 'assign_caretaker',
                                                        'assign_provider')),
    caretaker_user_id  bigint,
    caretaker_email    text,
    provider_id        bigint REFERENCES ticket_providers(id),
    CHECK (action <> 'assign_caretaker' OR caretaker_user_id IS NOT NULL),
    CHECK (action <> 'assign_provider' OR provider_id IS NOT NULL)
);
CREATE UNIQUE INDEX ticket_routing_rules_key
    ON ticket_routing_rules (property_id, coalesce(category_id, 0));

-- SLA per priority; property_id NULL is the default every property falls back to.
CREATE TABLE ticket_sla_policies (
    id                        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    property_id               bigint REFERENCES properties(id),
    priority                  text NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    first_response_minutes    integer NOT NULL CHECK (first_response_minutes > 0),
    resolution_minutes        integer NOT NULL CHECK (resolution_minutes > 0)
);
CREATE UNIQUE INDEX ticket_sla_policies_key
    ON ticket_sla_policies (coalesce(property_id, 0), priority);
INSERT INTO ticket_sla_policies (property_id, priority, first_response_minutes, resolution_minutes)
VALUES (NULL, 'urgent', 60, 24 * 60),
       (NULL, 'high', 4 * 60, 3 * 24 * 60),
       (NULL, 'normal', 24 * 60, 7 * 24 * 60),
       (NULL, 'low', 3 * 24 * 60, 14 * 24 * 60);

CREATE TABLE tickets (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    property_id         bigint NOT NULL REFERENCES properties(id),
    building_id         bigint NOT NULL REFERENCES buildings(id),
    unit_id             bigint REFERENCES units(id),
    common_area         text,
    category_id         bigint NOT NULL REFERENCES ticket_categories(id),
    title               text NOT NULL CHECK (length(trim(title)) > 0),
    description         text NOT NULL DEFAULT '',
    priority            text NOT NULL DEFAULT 'normal'
                        CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    status              text NOT NULL DEFAULT 'open'
                        CHECK (status IN ('open', 'approved', 'in_progress', 'done',
                                          'rejected', 'waiting')),
    visibility          text NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'public')),
    anonymous           boolean NOT NULL DEFAULT false,
    reporter_user_id    bigint,
    reporter_name       text NOT NULL DEFAULT '',
    reporter_email      text,
    assignee_user_id    bigint,
    assignee_email      text,
    provider_id         bigint REFERENCES ticket_providers(id),
    merged_into         bigint REFERENCES tickets(id),
    arrears_flag        boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL,
    first_response_breached  boolean,
    resolution_breached      boolean,
    CHECK (unit_id IS NULL OR common_area IS NULL)
);
CREATE INDEX tickets_building_idx ON tickets (building_id, status);
CREATE INDEX tickets_provider_idx ON tickets (provider_id) WHERE provider_id IS NOT NULL;

-- kind: created | status | comment | note | assign | merge | escalation | survey
CREATE TABLE ticket_history (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id      bigint NOT NULL REFERENCES tickets(id),
    at             timestamptz NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('created', 'status', 'comment', 'note', 'assign',
                                                 'merge', 'escalation', 'survey')),
    actor_user_id  bigint,
    actor_role     text NOT NULL,
    actor_label    text NOT NULL DEFAULT '',
    from_status    text,
    to_status      text,
    comment        text NOT NULL DEFAULT ''
);
CREATE INDEX ticket_history_ticket_idx ON ticket_history (ticket_id, at, id);
-- History is append-only (0004's refusing trigger; the app role then gets SELECT, INSERT only).
CREATE TRIGGER ticket_history_append_only BEFORE UPDATE OR DELETE ON ticket_history
    FOR EACH ROW EXECUTE FUNCTION meterbill_refuse_change();
CREATE TRIGGER ticket_history_no_truncate BEFORE TRUNCATE ON ticket_history
    FOR EACH STATEMENT EXECUTE FUNCTION meterbill_refuse_change();

-- internal = staff-only note; via = web | email | provider_link
CREATE TABLE ticket_comments (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id      bigint NOT NULL REFERENCES tickets(id),
    author_user_id bigint,
    author_role    text NOT NULL,
    author_label   text NOT NULL DEFAULT '',
    body           text NOT NULL CHECK (length(trim(body)) > 0),
    internal       boolean NOT NULL DEFAULT false,
    via            text NOT NULL DEFAULT 'web' CHECK (via IN ('web', 'email', 'provider_link')),
    created_at     timestamptz NOT NULL
);
CREATE INDEX ticket_comments_ticket_idx ON ticket_comments (ticket_id, created_at);

-- stored_name is a random name inside the data dir; original_name is shown only.
CREATE TABLE ticket_attachments (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id       bigint NOT NULL REFERENCES tickets(id),
    stored_name     text NOT NULL UNIQUE,
    media_type      text NOT NULL,
    size_bytes      bigint NOT NULL CHECK (size_bytes > 0),
    sha256          text NOT NULL,
    original_name   text NOT NULL DEFAULT '',
    uploaded_by     bigint,
    uploaded_role   text NOT NULL,
    created_at      timestamptz NOT NULL
);

-- Watchers chose the events they want; role is what they were when they subscribed
-- (staff get internal notes, residents only what the ticket's visibility allows).
CREATE TABLE ticket_watchers (
    ticket_id   bigint NOT NULL REFERENCES tickets(id),
    email       text NOT NULL,
    user_id     bigint,
    role        text NOT NULL,
    PRIMARY KEY (ticket_id, email)
);

-- Per-address, per-event opt-out; no row = the event is wanted.
CREATE TABLE ticket_notification_prefs (
    email    text NOT NULL,
    event    text NOT NULL CHECK (event IN ('created', 'status', 'comment', 'assigned',
                                            'escalated', 'survey')),
    enabled  boolean NOT NULL,
    PRIMARY KEY (email, event)
);

-- Every e-mail sent; message_id threads inbound replies back to their ticket.
CREATE TABLE ticket_mail_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id   bigint NOT NULL REFERENCES tickets(id),
    message_id  text NOT NULL UNIQUE,
    recipient   text NOT NULL,
    event       text NOT NULL,
    sent_at     timestamptz NOT NULL,
    error       text
);

CREATE TABLE ticket_escalations (
    ticket_id     bigint NOT NULL REFERENCES tickets(id),
    kind          text NOT NULL CHECK (kind IN ('first_response', 'resolution')),
    escalated_at  timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, kind)
);

CREATE TABLE ticket_surveys (
    ticket_id      bigint PRIMARY KEY REFERENCES tickets(id),
    rating         smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment        text NOT NULL DEFAULT '',
    submitted_at   timestamptz NOT NULL
);

-- Privileges for the application role of 0005_identity, when that migration is
-- present.  No row-level policy here: who sees a ticket depends on more than its
-- building (private/public, reporter, assigned provider), so the ticket service
-- decides (api/tickets/visibility.py) and every query goes through it.
DO $grants$
DECLARE
    t text;
BEGIN
    IF to_regprocedure('meterbill_grant_app(regclass)') IS NULL THEN
        RETURN;
    END IF;
    FOREACH t IN ARRAY ARRAY['ticket_providers', 'ticket_provider_users', 'ticket_categories',
                             'ticket_property_settings', 'ticket_routing_rules',
                             'ticket_sla_policies', 'tickets', 'ticket_history',
                             'ticket_comments', 'ticket_attachments', 'ticket_watchers',
                             'ticket_notification_prefs', 'ticket_mail_log',
                             'ticket_escalations', 'ticket_surveys']
    LOOP
        PERFORM meterbill_grant_app(t::regclass);
    END LOOP;
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO meterbill_app;
END
$grants$;
