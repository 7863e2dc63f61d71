-- 0004 ledger: double-entry append-only books, invoices, bank statements, matching, dunning.
--
-- Why the database and not only Python guards the books:
-- * every ledger transaction balances per currency: a DEFERRED constraint trigger
--   checks the postings at COMMIT, so a transaction may insert its postings in any
--   order (or by COPY) but can never commit unbalanced;
-- * UPDATE, DELETE and TRUNCATE on the ledger, invoices and imported bank data are
--   refused by triggers; corrections are reversing transactions.  The application
--   role (meterbill_app, created in 0005) additionally holds no UPDATE/DELETE rights
--   on these tables, so even a bug that disables nothing cannot change history;
-- * each transaction stores the SHA-256 of the previous transaction of its ledger
--   (a hash chain, seq 1, 2, 3 ... per ledger); `meterbill ledger verify` recomputes
--   the chain from the rows and names the first link that does not hold, so a row
--   forged by someone who bypassed the triggers (a superuser) is still found.
-- Amounts are integer minor units (bigint) with an ISO 4217 currency; a posting is
-- signed: positive = debit, negative = credit.

CREATE FUNCTION meterbill_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % refused: this table is append-only (book a reversal instead)',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TABLE ledgers (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code         text NOT NULL UNIQUE,
    name         text NOT NULL,
    property_id  bigint REFERENCES properties(id),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ledger_accounts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ledger_id    bigint NOT NULL REFERENCES ledgers(id),
    code         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('receivable', 'income', 'prepayment', 'deposit',
                                               'bank', 'suspense', 'fees', 'expense')),
    name         text NOT NULL DEFAULT '',
    tenant_id    bigint REFERENCES tenants(id),
    unit_id      bigint REFERENCES units(id),
    property_id  bigint REFERENCES properties(id),
    cost_item    text,
    iban         text,
    UNIQUE (ledger_id, code)
);
CREATE INDEX ledger_accounts_tenant_idx ON ledger_accounts (tenant_id) WHERE tenant_id IS NOT NULL;

CREATE TABLE ledger_transactions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ledger_id    bigint NOT NULL REFERENCES ledgers(id),
    seq          bigint NOT NULL CHECK (seq >= 1),
    booked_on    date NOT NULL,
    kind         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    reference    text,
    reverses_id  bigint REFERENCES ledger_transactions(id),
    prev_hash    bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash         bytea NOT NULL CHECK (length(hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ledger_id, seq)
);

-- A transaction is reversed at most once (partial: most rows have no reverses_id).
CREATE UNIQUE INDEX ledger_transactions_reverses_key ON ledger_transactions (reverses_id)
    WHERE reverses_id IS NOT NULL;

-- transaction_id and account_id are foreign keys checked per statement by
-- ledger_check_postings_statement() below (one set-based query per COPY instead of
-- two row-level RI checks per posting); rows they point to can never be deleted.
CREATE TABLE ledger_postings (
    transaction_id  bigint NOT NULL,
    line            integer NOT NULL CHECK (line >= 1),
    account_id      bigint NOT NULL,
    amount_minor    bigint NOT NULL CHECK (amount_minor <> 0),
    currency        char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    PRIMARY KEY (transaction_id, line)
);
CREATE INDEX ledger_postings_account_idx ON ledger_postings (account_id);

-- Balance per transaction and currency, checked at COMMIT: the postings of every
-- new transaction sum to zero in each currency, and there are at least two.
-- Postings are written after their transaction row, so the check must wait for
-- the end of the database transaction: a DEFERRED constraint trigger.  A deferred
-- trigger is row-level only, and one firing per transaction row halves the write
-- rate, so a statement-level trigger on ledger_transactions records each INSERT or
-- COPY as one row of ledger_write_checks (the id range it wrote), and the deferred
-- constraint trigger fires once per such row and checks the whole range with one
-- set-based query.  Every statement that writes transactions fires it (only the
-- table owner or a superuser could disable triggers), and ledger_write_checks is
-- append-only like the ledger, so no check can be withdrawn before COMMIT.
CREATE TABLE ledger_write_checks (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    first_id    bigint NOT NULL,
    last_id     bigint NOT NULL,
    written_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION ledger_note_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_write_checks (first_id, last_id)
    SELECT min(id), max(id) FROM new_transactions HAVING count(*) > 0;
    RETURN NULL;
END $$;

CREATE TRIGGER ledger_transactions_note_write
    AFTER INSERT ON ledger_transactions REFERENCING NEW TABLE AS new_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_note_write();

CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    n_transactions bigint;
    n_complete bigint;
BEGIN
    -- Two linear scans of the range rather than a join: planner statistics of a table
    -- that just grew are stale, and a misplanned join is quadratic in the batch size.
    SELECT transaction_id, currency, sum(amount_minor) AS total INTO bad
      FROM ledger_postings WHERE transaction_id BETWEEN NEW.first_id AND NEW.last_id
     GROUP BY transaction_id, currency HAVING sum(amount_minor) <> 0
     ORDER BY transaction_id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: % postings sum to %',
            bad.transaction_id, bad.currency, bad.total USING ERRCODE = 'check_violation';
    END IF;
    SELECT count(*) INTO n_transactions FROM ledger_transactions
     WHERE id BETWEEN NEW.first_id AND NEW.last_id;
    SELECT count(*) INTO n_complete FROM (
        SELECT transaction_id FROM ledger_postings
         WHERE transaction_id BETWEEN NEW.first_id AND NEW.last_id
         GROUP BY transaction_id HAVING count(*) >= 2) c;
    IF n_complete < n_transactions THEN
        SELECT t.id INTO bad FROM ledger_transactions t
         WHERE t.id BETWEEN NEW.first_id AND NEW.last_id
           AND (SELECT count(*) FROM ledger_postings p WHERE p.transaction_id = t.id) < 2
         ORDER BY t.id LIMIT 1;
        RAISE EXCEPTION 'ledger transaction % has fewer than two postings', bad.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER ledger_transactions_balanced
    AFTER INSERT ON ledger_write_checks DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();

-- Postings added later to a transaction that is already committed would escape the
-- deferred check above (it fires for new transaction rows).  This statement-level
-- check (one set-based query per INSERT/COPY, not one per row) keeps every
-- transaction a statement touches balanced; the hash chain catches the rest.
-- Consequence: all postings of one transaction are written in one statement.
CREATE FUNCTION ledger_check_postings_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.transaction_id INTO bad FROM new_postings n
     WHERE NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.id = n.transaction_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'posting refers to ledger transaction %, which does not exist',
            bad.transaction_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT n.transaction_id, n.account_id INTO bad FROM new_postings n
     WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a JOIN ledger_transactions t
                         ON t.ledger_id = a.ledger_id
                        WHERE a.id = n.account_id AND t.id = n.transaction_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'posting of transaction % refers to account %, which is not an '
            'account of that ledger', bad.transaction_id, bad.account_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT p.transaction_id, p.currency, sum(p.amount_minor) AS total INTO bad
      FROM ledger_postings p
     WHERE p.transaction_id IN (SELECT DISTINCT transaction_id FROM new_postings)
     GROUP BY p.transaction_id, p.currency HAVING sum(p.amount_minor) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: % postings sum to %',
            bad.transaction_id, bad.currency, bad.total USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER ledger_postings_balanced
    AFTER INSERT ON ledger_postings REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_postings_statement();

-- Idempotency of writes from outside (API, payment import): the same key with the
-- same request body returns the stored first result; another body is refused (409).
CREATE TABLE idempotency_keys (
    scope         text NOT NULL,
    key           text NOT NULL,
    request_hash  text NOT NULL,
    response      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

-- Debtor (tenant) numbers as printed on invoices and quoted in remittance texts.
CREATE TABLE debtors (
    tenant_id  bigint PRIMARY KEY REFERENCES tenants(id),
    number     text NOT NULL UNIQUE
);

CREATE TABLE recurring_charges (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ledger_id      bigint NOT NULL REFERENCES ledgers(id),
    tenant_id      bigint NOT NULL REFERENCES tenants(id),
    unit_id        bigint REFERENCES units(id),
    property_id    bigint NOT NULL REFERENCES properties(id),
    cost_item      text NOT NULL,   -- rent, prepayment_heating, property_fee ...
    description    text NOT NULL DEFAULT '',
    amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
    currency       char(3) NOT NULL,
    due_day        smallint NOT NULL DEFAULT 3 CHECK (due_day BETWEEN 1 AND 28),
    valid_from     date NOT NULL,
    valid_to       date,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);

-- Invoice numbers: RE<year>-<n>, credit notes GS<year>-<n>, n from one sequence.
CREATE SEQUENCE invoice_number_seq;

CREATE TABLE invoices (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ledger_id            bigint NOT NULL REFERENCES ledgers(id),
    number               text NOT NULL UNIQUE,
    kind                 text NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    credits_invoice_id   bigint REFERENCES invoices(id),
    tenant_id            bigint NOT NULL REFERENCES tenants(id),
    unit_id              bigint REFERENCES units(id),
    property_id          bigint NOT NULL REFERENCES properties(id),
    issued_on            date NOT NULL,
    due_on               date NOT NULL,
    currency             char(3) NOT NULL,
    total_minor          bigint NOT NULL CHECK (total_minor > 0),
    creditor_reference   text NOT NULL UNIQUE,
    source               text,     -- e.g. bill:<id> from the apportionment
    recurring_charge_id  bigint REFERENCES recurring_charges(id),
    period_start         date,
    transaction_id       bigint NOT NULL REFERENCES ledger_transactions(id),
    created_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'credit_note') = (credits_invoice_id IS NOT NULL)),
    UNIQUE (recurring_charge_id, period_start)
);
CREATE INDEX invoices_tenant_idx ON invoices (tenant_id, due_on);

CREATE TABLE invoice_lines (
    invoice_id    bigint NOT NULL REFERENCES invoices(id),
    line          integer NOT NULL,
    cost_item     text NOT NULL,
    description   text NOT NULL DEFAULT '',
    amount_minor  bigint NOT NULL CHECK (amount_minor > 0),
    PRIMARY KEY (invoice_id, line)
);

-- SEPA direct debit mandates (pain.008 needs reference and signature date).
CREATE TABLE mandates (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  bigint NOT NULL REFERENCES tenants(id),
    reference  text NOT NULL UNIQUE,
    signed_on  date NOT NULL,
    iban       text NOT NULL,
    bic        text,
    debtor_name text NOT NULL
);

-- Imported bank statements. A statement is identified by account, currency and the
-- bank's statement id plus its balances and dates (the same file twice is skipped);
-- entries by a fingerprint per account (overlapping statements add nothing).
CREATE TABLE bank_statements (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account                text NOT NULL,
    currency               char(3) NOT NULL,
    statement_key          text NOT NULL,
    bank_statement_id      text,
    format                 text NOT NULL,
    file_name              text,
    file_sha256            text,
    opening_balance_minor  bigint,
    closing_balance_minor  bigint,
    opening_date           date,
    closing_date           date,
    warnings               jsonb NOT NULL DEFAULT '[]',
    imported_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account, currency, statement_key)
);
CREATE INDEX bank_statements_account_idx ON bank_statements (account, currency, closing_date);

CREATE TABLE bank_entries (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    statement_id         bigint NOT NULL REFERENCES bank_statements(id),
    account              text NOT NULL,
    entry_key            text NOT NULL,
    amount_minor         bigint NOT NULL CHECK (amount_minor >= 0),
    currency             char(3) NOT NULL,
    credit_debit         text NOT NULL CHECK (credit_debit IN ('CRDT', 'DBIT')),
    reversal             boolean NOT NULL DEFAULT false,
    booking_date         date,
    value_date           date,
    counterparty_name    text,
    counterparty_account text,
    remittance           text,
    end_to_end_id        text,
    creditor_reference   text,
    mandate_id           text,
    return_reason        text,
    charges_minor        bigint,
    UNIQUE (account, entry_key)
);
CREATE INDEX bank_entries_statement_idx ON bank_entries (statement_id);

-- Matching of bank entries to invoices; mutable (a manager confirms or overrides).
CREATE TABLE payment_matches (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bank_entry_id  bigint NOT NULL REFERENCES bank_entries(id),
    invoice_id     bigint REFERENCES invoices(id),
    tenant_id      bigint REFERENCES tenants(id),
    amount_minor   bigint NOT NULL,
    rule           text NOT NULL,
    confidence     numeric(4, 3) NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    status         text NOT NULL CHECK (status IN ('auto', 'suggested', 'confirmed',
                                                   'rejected', 'superseded')),
    transaction_id bigint REFERENCES ledger_transactions(id),
    suggestions    jsonb NOT NULL DEFAULT '[]',
    decided_by     text,
    decided_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_matches_entry_idx ON payment_matches (bank_entry_id);
CREATE INDEX payment_matches_invoice_idx ON payment_matches (invoice_id);

-- Anomalies found by the latest reconciliation run (replaced on each run).
CREATE TABLE reconciliation_anomalies (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           text NOT NULL,
    reason         text NOT NULL,
    bank_entry_id  bigint REFERENCES bank_entries(id),
    invoice_id     bigint REFERENCES invoices(id),
    tenant_id      bigint REFERENCES tenants(id),
    found_at       timestamptz NOT NULL DEFAULT now()
);

-- Learned payer accounts: IBAN -> tenant, from confirmations, mandates and payments.
CREATE TABLE payer_accounts (
    iban       text NOT NULL,
    tenant_id  bigint NOT NULL REFERENCES tenants(id),
    source     text NOT NULL CHECK (source IN ('confirmed', 'mandate', 'auto')),
    learned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (iban, tenant_id)
);

-- Dunning: notices issued per invoice and level; late-fee terms per contract.
CREATE TABLE dunning_notices (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    invoice_id      bigint NOT NULL REFERENCES invoices(id),
    level           integer NOT NULL CHECK (level >= 1),
    level_name      text NOT NULL,
    issued_on       date NOT NULL,
    pay_by          date NOT NULL,
    open_minor      bigint NOT NULL,
    fee_minor       bigint NOT NULL DEFAULT 0,
    interest_minor  bigint NOT NULL DEFAULT 0,
    transaction_id  bigint REFERENCES ledger_transactions(id),
    UNIQUE (invoice_id, level)
);

CREATE TABLE late_fee_terms (
    occupancy_id       bigint PRIMARY KEY REFERENCES occupancies(id),
    daily_rate         numeric(8, 6) NOT NULL CHECK (daily_rate >= 0 AND daily_rate < 1),
    debtor_kind        text NOT NULL DEFAULT 'consumer' CHECK (debtor_kind IN ('consumer',
                                                                              'business'))
);

CREATE TRIGGER ledger_accounts_append_only BEFORE UPDATE OR DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION meterbill_refuse_change();
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION meterbill_refuse_change();
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION meterbill_refuse_change();
CREATE TRIGGER invoices_append_only BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION meterbill_refuse_change();
CREATE TRIGGER invoice_lines_append_only BEFORE UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION meterbill_refuse_change();
CREATE TRIGGER bank_entries_append_only BEFORE UPDATE OR DELETE ON bank_entries
    FOR EACH ROW EXECUTE FUNCTION meterbill_refuse_change();
CREATE TRIGGER bank_statements_append_only BEFORE UPDATE OR DELETE ON bank_statements
    FOR EACH ROW EXECUTE FUNCTION meterbill_refuse_change();
CREATE TRIGGER ledger_write_checks_append_only BEFORE UPDATE OR DELETE ON ledger_write_checks
    FOR EACH ROW EXECUTE FUNCTION meterbill_refuse_change();
CREATE TRIGGER ledger_write_checks_no_truncate BEFORE TRUNCATE ON ledger_write_checks
    FOR EACH STATEMENT EXECUTE FUNCTION meterbill_refuse_change();
CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION meterbill_refuse_change();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION meterbill_refuse_change();
CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings
    FOR EACH STATEMENT EXECUTE FUNCTION meterbill_refuse_change();
CREATE TRIGGER invoices_no_truncate BEFORE TRUNCATE ON invoices
    FOR EACH STATEMENT EXECUTE FUNCTION meterbill_refuse_change();

-- Privileges of the application role (0005_identity.sql). On a fresh database 0005
-- runs after this file and grants these tables itself; on one where 0005 was
-- applied first, grant them here.  Append-only tables get SELECT and INSERT only
-- (meterbill_grant_app looks for the meterbill_refuse_change trigger).
DO $grants$
DECLARE
    t text;
BEGIN
    IF to_regprocedure('meterbill_grant_app(regclass)') IS NULL THEN
        RETURN;
    END IF;
    FOREACH t IN ARRAY ARRAY['ledgers', 'ledger_accounts', 'ledger_transactions',
        'ledger_postings', 'ledger_write_checks', 'idempotency_keys', 'debtors',
        'recurring_charges', 'invoices', 'invoice_lines', 'mandates', 'bank_statements',
        'bank_entries', 'payment_matches', 'reconciliation_anomalies', 'payer_accounts',
        'dunning_notices', 'late_fee_terms']
    LOOP
        PERFORM meterbill_grant_app(t::regclass);
    END LOOP;
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO meterbill_app;
END
$grants$;
