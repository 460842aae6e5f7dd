-- Deployment requests as database functions, for a FraiseQL server (or any SQL client) that
-- reads Fraisier's v_fraiseql_* views and may also request deployments, while Fraisier's
-- workers do the work. They apply the rules of fraisier/engine/service.py (a shared table
-- of cases in tests/store/test_request_functions.py runs against both):
--
--   fn_request_deployment(fraise_id, environment, commit_sha, force)  trigger 'api'
--   fn_cancel_deployment(deployment_id)     a queued one never starts; a running one is
--                                           stopped by its worker
--   fn_retry_deployment(deployment_id)      a finished one that did not succeed, trigger
--                                           'retry'
--
-- Each records the deployment, writes its outbox events (tb_event) and an audit entry, and
-- NOTIFYs the workers (delivered at commit), then returns the deployment as the FraiseQL
-- view shows it (v_fraiseql_deployment.data). Refusals raise, and record nothing:
--   FRA04  not found       unknown fraise, environment or deployment id (the message names it)
--   FRA09  conflict        not in a state that allows it (cancel a finished one, retry a
--                          running or succeeded one)
--   FRA22  invalid         never allowed (retry a rollback, an empty commit)
-- SECURITY DEFINER: a role granted EXECUTE on them (fraisier graphql grant-role) needs no
-- right on any table.

-- Each environment's branch, as configured (written by open_state with the fraises): a
-- request made here deploys the branch a request from the CLI would.
ALTER TABLE tb_fraise ADD COLUMN branches TEXT NOT NULL DEFAULT '{}';

CREATE FUNCTION fn_fraisier_timestamp() RETURNS text LANGUAGE sql STABLE AS $$
    -- utc_timestamp() of fraisier/domain/model.py: ISO-8601 UTC, microseconds, a Z.
    SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE FUNCTION fn_fraisier_refuse(code text, message text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
END;
$$;

-- The configured branch of a target; refuses an unknown fraise or environment with the
-- same words as fraisier/config/resolve.py.
CREATE FUNCTION fn_fraisier_target_branch(p_fraise text, p_environment text)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_row tb_fraise;
    v_known text;
BEGIN
    SELECT * INTO v_row FROM tb_fraise WHERE name = p_fraise;
    IF NOT FOUND THEN
        SELECT coalesce(string_agg(name, ', ' ORDER BY name), 'none') INTO v_known FROM tb_fraise;
        PERFORM fn_fraisier_refuse('FRA04', 'unknown fraise ' || quote_literal(coalesce(p_fraise, ''))
            || ' (configured fraises: ' || v_known || ')');
    END IF;
    IF NOT jsonb_exists(v_row.environments::jsonb, coalesce(p_environment, '')) THEN
        SELECT string_agg(e, ', ') INTO v_known FROM jsonb_array_elements_text(v_row.environments::jsonb) e;
        PERFORM fn_fraisier_refuse('FRA04', 'fraise ' || quote_literal(p_fraise) || ' has no environment '
            || quote_literal(coalesce(p_environment, '')) || ' (it has: ' || coalesce(v_known, '') || ')');
    END IF;
    RETURN coalesce(v_row.branches::jsonb ->> p_environment, '');
END;
$$;

CREATE FUNCTION fn_fraisier_status_event(p_id bigint, p_fraise text, p_environment text,
                                         p_payload jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO tb_event (created_at, type, deployment_id, fraise, environment, payload)
    VALUES (fn_fraisier_timestamp(), 'deployment.status', p_id, p_fraise, p_environment,
            p_payload::text);
$$;

CREATE FUNCTION fn_fraisier_audit(p_action text, p_subject text, p_deployment_id bigint,
                                  p_detail text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO tb_audit (at, actor, actor_kind, source, action, subject, deployment_id,
                          outcome, detail)
    VALUES (fn_fraisier_timestamp(), session_user, 'db_role', 'sql', p_action, p_subject,
            p_deployment_id, 'ok', p_detail);
$$;

-- store/queue.py Queue.enqueue: one queued deployment per environment (an older queued one
-- is superseded), under the same advisory lock as every other enqueue.
CREATE FUNCTION fn_fraisier_enqueue(p_fraise text, p_environment text, p_trigger text,
                                    p_branch text, p_commit text, p_force boolean,
                                    p_retry_of bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_now text := fn_fraisier_timestamp();
    v_older record;
BEGIN
    PERFORM pg_advisory_xact_lock(1179795785);  -- _ENQUEUE_LOCK of store/queue.py ("FRAI")
    INSERT INTO tb_deployment (fraise, environment, status, trigger, branch, requested_commit,
                               force, options, queued_at, retry_of)
    VALUES (p_fraise, p_environment, 'queued', p_trigger, p_branch, p_commit,
            CASE WHEN p_force THEN 1 ELSE 0 END, '{}', v_now, p_retry_of)
    RETURNING id INTO v_id;
    FOR v_older IN
        UPDATE tb_deployment SET status = 'superseded', superseded_by = v_id, completed_at = v_now
        WHERE fraise = p_fraise AND environment = p_environment AND status = 'queued' AND id < v_id
        RETURNING id
    LOOP
        PERFORM fn_fraisier_status_event(v_older.id, p_fraise, p_environment,
            jsonb_build_object('status', 'superseded', 'superseded_by', v_id));
    END LOOP;
    PERFORM fn_fraisier_status_event(v_id, p_fraise, p_environment,
                                     jsonb_build_object('status', 'queued'));
    NOTIFY fraisier_queue;  -- WAKE_CHANNEL: workers start it at commit
    RETURN v_id;
END;
$$;

CREATE FUNCTION fn_fraisier_deployment_data(p_id bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT data FROM v_fraiseql_deployment WHERE id = p_id
$$;

CREATE FUNCTION fn_request_deployment(fraise_id text, environment text,
                                      commit_sha text DEFAULT NULL, force boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    v_branch text;
    v_id bigint;
BEGIN
    v_branch := fn_fraisier_target_branch(fraise_id, environment);
    IF commit_sha IS NOT NULL AND btrim(commit_sha) = '' THEN
        PERFORM fn_fraisier_refuse('FRA22', 'commit_sha must not be empty (null: the branch head)');
    END IF;
    v_id := fn_fraisier_enqueue(fraise_id, environment, 'api', v_branch, commit_sha,
                                coalesce(force, false), NULL);
    PERFORM fn_fraisier_audit('deploy', fraise_id || '/' || environment, v_id,
        'trigger api' || coalesce(', commit ' || commit_sha, '')
        || CASE WHEN force THEN ', force' ELSE '' END);
    RETURN fn_fraisier_deployment_data(v_id);
END;
$$;

CREATE FUNCTION fn_cancel_deployment(deployment_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    v_row tb_deployment;
    v_subject text := 'deployment ' || coalesce(deployment_id::text, 'null');
BEGIN
    SELECT * INTO v_row FROM tb_deployment d WHERE d.id = deployment_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM fn_fraisier_refuse('FRA04', 'no deployment ' || coalesce(deployment_id::text, 'null'));
    END IF;
    IF v_row.status = 'queued' THEN
        UPDATE tb_deployment SET status = 'cancelled', completed_at = fn_fraisier_timestamp()
        WHERE id = v_row.id;
        PERFORM fn_fraisier_status_event(v_row.id, v_row.fraise, v_row.environment,
                                         jsonb_build_object('status', 'cancelled'));
        PERFORM fn_fraisier_audit('cancel', v_subject, v_row.id, 'it never starts');
    ELSIF v_row.status = 'running' THEN
        UPDATE tb_deployment SET cancel_requested = 1 WHERE id = v_row.id;
        PERFORM fn_fraisier_audit('cancel', v_subject, v_row.id, 'its worker stops it');
    ELSE
        PERFORM fn_fraisier_refuse('FRA09', 'deployment ' || v_row.id || ' is already '
            || v_row.status || '; only a queued or running deployment can be cancelled');
    END IF;
    RETURN fn_fraisier_deployment_data(v_row.id);
END;
$$;

CREATE FUNCTION fn_retry_deployment(deployment_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    v_old tb_deployment;
    v_branch text;
    v_id bigint;
BEGIN
    SELECT * INTO v_old FROM tb_deployment d WHERE d.id = deployment_id;
    IF NOT FOUND THEN
        PERFORM fn_fraisier_refuse('FRA04', 'no deployment ' || coalesce(deployment_id::text, 'null'));
    END IF;
    IF v_old.trigger = 'rollback' THEN
        PERFORM fn_fraisier_refuse('FRA22', 'deployment ' || v_old.id
            || ' is a rollback: roll back again instead of retrying it');
    END IF;
    IF v_old.status IN ('queued', 'running') THEN
        PERFORM fn_fraisier_refuse('FRA09', 'deployment ' || v_old.id || ' is still '
            || v_old.status || '; wait until it ends');
    END IF;
    IF v_old.status = 'succeeded' THEN
        PERFORM fn_fraisier_refuse('FRA09', 'deployment ' || v_old.id
            || ' succeeded: there is nothing to retry (to deploy its commit again, deploy it'
            || ' with --commit and --force)');
    END IF;
    v_branch := fn_fraisier_target_branch(v_old.fraise, v_old.environment);
    v_id := fn_fraisier_enqueue(v_old.fraise, v_old.environment, 'retry',
                                coalesce(nullif(v_old.branch, ''), v_branch),
                                coalesce(v_old.commit_sha, v_old.requested_commit),
                                v_old.force <> 0, v_old.id);
    PERFORM fn_fraisier_audit('retry', 'deployment ' || v_old.id, v_id,
                              'retried as deployment ' || v_id);
    RETURN fn_fraisier_deployment_data(v_id);
END;
$$;

-- Functions are executable by everyone unless revoked: only roles granted EXECUTE
-- (fraisier graphql grant-role) may call these, and the helpers are for them alone.
REVOKE EXECUTE ON FUNCTION fn_request_deployment(text, text, text, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION fn_cancel_deployment(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION fn_retry_deployment(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION fn_fraisier_enqueue(text, text, text, text, text, boolean, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION fn_fraisier_audit(text, text, bigint, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION fn_fraisier_status_event(bigint, text, text, jsonb) FROM PUBLIC;
