-- 0001 core: properties, buildings, units, tenants, occupancies, meters, tariffs.
--
-- Areas and shares are numeric (exact decimals): they are allocation keys, and
-- a key value of 63.25 m² must be 63.25, not 63.2499999.
-- Prices are numeric minor units per physical unit (e.g. 32.15 cents per kWh);
-- amounts posted anywhere are integer minor units (bigint).

CREATE TABLE properties (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL,
    country     char(2) NOT NULL DEFAULT 'DE',
    currency    char(3) NOT NULL DEFAULT 'EUR',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE buildings (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    property_id  bigint NOT NULL REFERENCES properties(id),
    code         text NOT NULL,
    name         text NOT NULL,
    address      text NOT NULL DEFAULT '',
    time_zone    text NOT NULL DEFAULT 'Europe/Berlin',
    UNIQUE (property_id, code)
);

CREATE TABLE units (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    building_id       bigint NOT NULL REFERENCES buildings(id),
    code              text NOT NULL,
    name              text NOT NULL DEFAULT '',
    living_area_m2    numeric(12, 4) NOT NULL CHECK (living_area_m2 >= 0),
    heated_area_m2    numeric(12, 4) NOT NULL CHECK (heated_area_m2 >= 0),
    persons           integer NOT NULL DEFAULT 0 CHECK (persons >= 0),
    ownership_share   numeric(12, 6) NOT NULL DEFAULT 0 CHECK (ownership_share >= 0),
    UNIQUE (building_id, code)
);

CREATE TABLE tenants (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    email       text,
    language    text NOT NULL DEFAULT 'de' CHECK (language IN ('de', 'en', 'zh', 'nb'))
);

-- Who lived where, from-to (both dates inclusive; moved_out NULL = still there).
CREATE TABLE occupancies (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id     bigint NOT NULL REFERENCES units(id),
    tenant_id   bigint NOT NULL REFERENCES tenants(id),
    moved_in    date NOT NULL,
    moved_out   date,
    persons     integer NOT NULL DEFAULT 1 CHECK (persons >= 0),
    CHECK (moved_out IS NULL OR moved_out >= moved_in)
);
CREATE INDEX occupancies_unit_idx ON occupancies (unit_id, moved_in);

-- A meter measures one medium for a unit (sub meter) or a whole building (main meter).
-- The serial is how gateways name a meter in the readings write contract.
CREATE TABLE meters (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    serial         text NOT NULL UNIQUE,
    medium         text NOT NULL CHECK (medium IN
                       ('electricity', 'heat', 'hot_water', 'cold_water', 'gas', 'heat_cost_allocator')),
    physical_unit  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('main', 'sub')),
    building_id    bigint NOT NULL REFERENCES buildings(id),
    unit_id        bigint REFERENCES units(id),
    installed_on   date,
    removed_on     date,
    CHECK ((role = 'main') = (unit_id IS NULL))
);
CREATE INDEX meters_unit_idx ON meters (unit_id);
CREATE INDEX meters_building_idx ON meters (building_id);

-- Exchange history: the old meter's final and the new meter's start reading on the day.
CREATE TABLE meter_exchanges (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    old_meter_id        bigint NOT NULL REFERENCES meters(id),
    new_meter_id        bigint NOT NULL REFERENCES meters(id),
    exchanged_at        timestamptz NOT NULL,
    old_final_value     numeric NOT NULL,
    new_start_value     numeric NOT NULL,
    CHECK (old_meter_id <> new_meter_id)
);

-- Price per physical unit for a building and medium, valid from a date on.
CREATE TABLE tariffs (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    building_id                bigint NOT NULL REFERENCES buildings(id),
    medium                     text NOT NULL,
    valid_from                 date NOT NULL,
    price_minor_per_unit       numeric(14, 6) NOT NULL CHECK (price_minor_per_unit >= 0),
    UNIQUE (building_id, medium, valid_from)
);
