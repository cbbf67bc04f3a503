-- The statements `rbk run examples/db_pool_exhaustion.rbk` sends, for `psql` to run in ONE
-- session: the psql side of bench/seed_vs_psql.sh (a benchmark, not a test). Copied from
-- stdlib/src/natives/postgres.rs; `$1` of the idle-sessions query is the psql variable
-- :idle_ms (the runbook's `idle_for` in milliseconds).
--
--   psql -X -q -At -v ON_ERROR_STOP=1 -v idle_ms=2000 -h 127.0.0.1 -U postgres -d rbk_bench \
--        -f bench/seed_statements.sql
--
-- In the order the runbook sends them:
--   step count      pool_usage                                        1 statement
--   step find_idle  idle_connections(older_than: idle_for)            1
--   step kill       terminate: server version, prepare, one execute
--                   per session (pid + backend_start + state re-check) 2 + N
--   verify pool_ok  pool_usage (the first poll passes)                1
--   step restart    its `when` condition: pool_usage (false: skipped) 1
--   notify          pool_usage in the message                        1
-- psql needs the pids from the idle-sessions query to write the N executes, so that query is
-- wrapped in format(...) and run with \gexec, which sends each row as a statement of its own;
-- the server version and the PREPARE therefore come before it instead of after. rbk sends the
-- version and the prepare only when there is a session to end; this file always does.

-- step count: pg.pool_usage(db)
SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::float8,
       current_setting('max_connections')::float8
       - current_setting('superuser_reserved_connections')::float8
       - coalesce(current_setting('reserved_connections', true)::float8, 0);

-- step kill, first part: terminate_targets() reads the version and prepares one statement
SELECT current_setting('server_version_num')::int;
PREPARE rbk_terminate(int4, int8, text, int8) AS
SELECT pg_terminate_backend(a.pid, $4::int8) FROM pg_stat_activity a
 WHERE a.pid = $1::int4 AND floor(extract(epoch from a.backend_start) * 1000)::int8 = $2::int8
   AND a.pid <> pg_backend_pid()
   AND ($3::text = '' OR a.state IS NOT DISTINCT FROM $3::text);

-- step find_idle: pg.idle_connections(db, older_than: idle_for), the same query as
-- list_sessions(IDLE), each row turned into the step kill's EXECUTE (5000 = TERMINATE_WAIT_MS)
SELECT format('EXECUTE rbk_terminate(%s, %s, %L, 5000)', s.pid, s.backend_start_ms, s.state)
FROM (
SELECT a.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''),
       coalesce(host(a.client_addr), ''), coalesce(a.state, ''),
       CASE WHEN a.state = 'active' OR a.state_change IS NULL THEN 0::int8
            ELSE greatest(0, floor(extract(epoch from clock_timestamp() - a.state_change) * 1000))::int8 END,
       floor(extract(epoch from a.backend_start) * 1000)::int8, coalesce(a.query, '')
  FROM pg_stat_activity a
 WHERE a.backend_type = 'client backend'
   AND a.datname = current_database()
   AND a.pid <> pg_backend_pid()
   AND a.usesysid IS NOT NULL
   AND (coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)
        OR (NOT coalesce((SELECT r.rolsuper FROM pg_roles r WHERE r.oid = a.usesysid), true)
            AND (pg_has_role(current_user, a.usesysid, 'MEMBER')
                 OR pg_has_role(current_user, 'pg_signal_backend', 'MEMBER'))))
   AND a.state = 'idle' AND a.state_change < clock_timestamp() - :idle_ms::int8 * interval '1 millisecond'
 ORDER BY a.state_change, a.pid
) AS s(pid, usename, application, client_addr, state, idle_ms, backend_start_ms, query)
\gexec

-- verify pool_ok: pg.pool_usage(db) < target (the first poll)
SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::float8,
       current_setting('max_connections')::float8
       - current_setting('superuser_reserved_connections')::float8
       - coalesce(current_setting('reserved_connections', true)::float8, 0);
-- step restart: its condition pg.pool_usage(db) > target
SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::float8,
       current_setting('max_connections')::float8
       - current_setting('superuser_reserved_connections')::float8
       - coalesce(current_setting('reserved_connections', true)::float8, 0);
-- notify: "Pool usage {before} -> {pg.pool_usage(db)}"
SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::float8,
       current_setting('max_connections')::float8
       - current_setting('superuser_reserved_connections')::float8
       - coalesce(current_setting('reserved_connections', true)::float8, 0);
