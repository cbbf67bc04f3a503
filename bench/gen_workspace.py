#!/usr/bin/env python3
"""Generates a benchmark workspace of rbk runbooks and the equivalent Ansible playbooks.

    python3 bench/gen_workspace.py OUT_DIR [--count 500] [--seed 20240601]

Writes
    OUT_DIR/rbk/rbk.toml                   approver groups
    OUT_DIR/rbk/<team>/rb_NNNN.rbk         one runbook (with tests) per file, ~200 lines each
    OUT_DIR/ansible/playbooks/rb_NNNN.yml  one playbook per runbook
    OUT_DIR/ansible/.ansible-lint          lint configuration (offline, production profile)
    OUT_DIR/counts.json                    line, step, statement and task totals

The output depends only on --count and --seed. Every runbook is built from the same blocks as
examples/*.rbk (pool exhaustion, crashlooping pods, replication lag, rolling restarts,
replication slots, scaling) and must check clean (`rbk check OUT_DIR/rbk`: no error, no
warning). Every playbook has exactly one task per rbk step and one per statement in a step
(nested statements included), so both linters get the same amount of work. `test` blocks
are not counted: Ansible has no equivalent.
"""

import argparse
import json
import os
import random
import re
import shutil
import sys
import textwrap

SERVICES = [
    "orders", "payments", "checkout", "catalog", "search", "billing", "inventory", "shipping",
    "accounts", "ledger", "pricing", "reviews", "notifications", "auth", "gateway", "reports",
]
TEAMS = ["database-oncall", "platform-oncall", "sre"]
APPROVERS = {
    "database-oncall": ["alice", "bob", "carol"],
    "platform-oncall": ["dave", "erin", "frank"],
    "sre": ["alice", "dave", "grace", "heidi"],
}
CHANNELS = ["#incidents", "#db-alerts", "#platform-alerts", "#sre"]

# Inputs each block reads, in the order they are declared.
INPUTS = {
    "db": ('db: pg.Database = pg.connect(secret("<SVCU>_DATABASE_URL"))',
           'db_url: "{{ lookup(\'ansible.builtin.env\', \'<SVCU>_DATABASE_URL\') }}"'),
    "replica": ('replica: pg.Database = pg.connect(secret("<SVCU>_REPLICA_URL"))',
                'replica_url: "{{ lookup(\'ansible.builtin.env\', \'<SVCU>_REPLICA_URL\') }}"'),
    "namespace": ('namespace: string = alert.labels["namespace"] ?? "prod"',
                  'k8s_namespace: prod'),
    "app": ('app: string = alert.labels["app"] ?? "<SVC>-api"', 'app: <SVC>-api'),
    "idle_for": ("idle_for: duration = <IDLE>h", "idle_for_seconds: <IDLE_S>"),
    "target": ("target: percent = <TARGET>%", "target: <TARGET>"),
    "max_lag": ("max_lag: duration = <MAXLAG>s", "max_lag_seconds: <MAXLAG>"),
    "query_limit": ("query_limit: duration = <QLIMIT>m", "query_limit_minutes: <QLIMIT>"),
    "min_restarts": ("min_restarts: int = <MINR>", "min_restarts: <MINR>"),
    "max_replicas": ("max_replicas: int = <MAXR>", "max_replicas: <MAXR>"),
}
INPUT_COMMENTS = {
    "idle_for": "// Sessions idle for longer than this are ended; the app's pool reconnects lazily.",
    "query_limit": "// Reporting queries longer than this on the replica are ended; they can be re-run.",
    "max_replicas": "// Never scale above this: the database has connections for this many replicas.",
}

# ---------------------------------------------------------------------------------------------
# Blocks. A block is a list of steps; a step is (rbk text, [ansible tasks]). `<k>` is the
# block's index in the runbook, the other <NAMES> are per-runbook values. Each Ansible task is
# YAML indented for a play's task list. The first task of a step stands for its header (a
# pause for an approval gate, a debug banner otherwise); the others for its statements, in
# order.
# ---------------------------------------------------------------------------------------------

def scalar(value, indent):
    """A YAML scalar for `value` after a key at `indent` spaces: quoted, or folded when long."""
    if len(value) + indent < 110:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    lines = textwrap.wrap(value, 100, break_long_words=False, break_on_hyphens=False)
    pad = " " * (indent + 2)
    return ">-\n" + "\n".join(pad + line for line in lines)


def argv(items, indent):
    """`argv:` as a block sequence (items given unquoted)."""
    pad = " " * indent
    out = f"{pad}argv:\n"
    for item in items:
        item = item.strip('"')
        if re.fullmatch(r"[A-Za-z0-9_./=-]+", item) and not re.fullmatch(r"[0-9]+", item):
            out += f"{pad}  - {item}\n"
        else:
            out += f"{pad}  - {scalar(item, indent + 2)}\n"
    return out


def banner(title):
    return f"""    - name: {title}
      ansible.builtin.debug:
        msg: {scalar("Step: " + title, 8)}
"""


def gate(title, group, minutes):
    return f"""    - name: {title} (approval from {group})
      ansible.builtin.pause:
        prompt: {scalar(f"{title}: approve as a member of {group}", 8)}
        minutes: {minutes}
"""


def psql(name, url, sql, register):
    return f"""    - name: {name}
      ansible.builtin.command:
{argv(["psql", "{{ " + url + " }}", "-Atc", sql], 8)}      register: {register}
      changed_when: false
"""


def kubectl(name, args, register=None, changed=False, when=None, loop=None):
    out = f"""    - name: {name}
      ansible.builtin.command:
{argv(["kubectl"] + args, 8)}"""
    if register:
        out += f"      register: {register}\n"
    out += f"      changed_when: {'true' if changed else 'false'}\n"
    if when:
        out += f"      when: {when}\n"
    if loop:
        out += f"      loop: {loop}\n"
    return out


def debug(name, msg, when=None):
    out = f"""    - name: {name}
      ansible.builtin.debug:
        msg: {scalar(msg, 8)}
"""
    if when:
        out += f"      when: {when}\n"
    return out


def set_fact(name, var, value):
    return f"""    - name: {name}
      ansible.builtin.set_fact:
        {var}: {scalar(value, 8 + len(var))}
"""


def assert_(name, that, msg):
    return f"""    - name: {name}
      ansible.builtin.assert:
        that:
          - {that}
        fail_msg: {scalar(msg, 8)}
"""


def poll(name, args, until, retries, delay):
    return f"""    - name: {name}
      ansible.builtin.command:
{argv(args.split(", "), 8)}      register: poll_result
      changed_when: false
      until: {until}
      retries: {retries}
      delay: {delay}
"""


def slack(name, channel, text, ignore_errors=False):
    out = f"""    - name: {name}
      ansible.builtin.uri:
        url: "{{{{ slack_webhook_url }}}}"
        method: POST
        body_format: json
        body:
          channel: "{channel}"
          text: {scalar(text, 10)}
"""
    if ignore_errors:
        out += "      failed_when: false\n"
    return out


def pagerduty(name, action, team, summary):
    return f"""    - name: {name}
      ansible.builtin.uri:
        url: https://events.pagerduty.com/v2/enqueue
        method: POST
        body_format: json
        body:
          routing_key: "{{{{ pagerduty_keys['{team}'] }}}}"
          event_action: {action}
          dedup_key: "{{{{ run_id }}}}"
          payload:
            summary: {scalar(summary, 12)}
            source: ansible
            severity: critical
        status_code: 202
"""


def block_pool(k):
    return {
        "inputs": ["db", "idle_for", "target"],
        "externs": ["pg.pool_usage", "pg.active_connections", "pg.idle_connections", "pg.terminate"],
        "steps": [
            (f"""  step measure_pool_{k} "Measure connection pool usage on <SVC>" {{
    let usage_{k} = pg.pool_usage(db)
    let active_{k} = pg.active_connections(db)
    log "pool usage {{usage_{k}}}, {{active_{k}}} sessions running a query (target {{target}})"
    if usage_{k} > target {{
      log "pool above {{target}}: idle sessions older than {{idle_for}} will be ended"
    }} else {{
      log "pool below {{target}}: nothing to end"
    }}
  }}
""", [
                banner(f"Measure connection pool usage on <SVC> ({k})"),
                psql("Read pool usage", "db_url",
                     "SELECT round(100.0 * count(*) / current_setting('max_connections')::int) FROM pg_stat_activity",
                     f"usage_{k}"),
                psql("Count sessions running a query", "db_url",
                     "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'", f"active_{k}"),
                debug("Log pool usage",
                      f"pool usage {{{{ usage_{k}.stdout }}}}%, {{{{ active_{k}.stdout }}}} active (target {{{{ target }}}}%)"),
                set_fact("Decide whether the pool is above target", f"pool_high_{k}",
                         f"{{{{ usage_{k}.stdout | int > target | int }}}}"),
                debug("Log pool above target", "pool above target: idle sessions will be ended",
                      when=f"pool_high_{k} | bool"),
                debug("Log pool below target", "pool below target: nothing to end",
                      when=f"not (pool_high_{k} | bool)"),
            ]),
            (f"""  // Ending idle backends is bounded by construction: active queries are never touched.
  step kill_idle_{k} "End sessions idle for more than {{idle_for}}" when usage_{k} > target {{
    approval none reason "only idle backends are terminated, never active ones"
    retry 2 every 10s
    let idle_{k} = pg.idle_connections(db, older_than: idle_for)
    expect len(idle_{k}) <= 50 else "{{len(idle_{k})}} idle sessions: more than this runbook ends unattended"
    let ended_{k} = pg.terminate(db, idle_{k}, max: 50)
    log "ended {{ended_{k}}} idle sessions"
  }}
""", [
                banner(f"End idle sessions ({k})"),
                psql("List idle sessions", "db_url",
                     "SELECT pid FROM pg_stat_activity WHERE state = 'idle' AND state_change < now() - make_interval(secs => {{ idle_for_seconds }})",
                     f"idle_{k}"),
                assert_("Bound the number of idle sessions", f"idle_{k}.stdout_lines | length <= 50",
                        "too many idle sessions to end unattended"),
                psql("Terminate idle sessions", "db_url",
                     "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE state = 'idle' AND state_change < now() - make_interval(secs => {{ idle_for_seconds }})",
                     f"ended_{k}"),
                debug("Log terminated sessions", f"ended {{{{ ended_{k}.stdout }}}} idle sessions"),
            ]),
            (f"""  verify pool_ok_{k} "Pool usage below {{target}}" {{
    expect pg.pool_usage(db) < target within 2m every 10s
  }}
""", [
                banner(f"Pool usage below target ({k})"),
                poll("Wait for pool usage below target",
                     "psql, \"{{ db_url }}\", -Atc, \"SELECT round(100.0 * count(*) / current_setting('max_connections')::int) FROM pg_stat_activity\"",
                     "poll_result.stdout | int < target | int", 12, 10),
            ]),
        ],
    }


def block_crashloop(k, channel):
    return {
        "inputs": ["namespace", "app", "min_restarts"],
        "externs": ["k8s.pods", "k8s.logs", "slack.post", "k8s.delete_pod", "k8s.deployment"],
        "needs_fully_ready": True,
        "steps": [
            (f"""  step inspect_pods_{k} "Find the crashlooping replicas of {{app}}" {{
    expect app != "" else "the alert carries no app label: cannot tell which pods to look at"
    let pods_{k} = k8s.pods(namespace: namespace, selector: "app={{app}}")
    let crashing_{k} = filter(pods_{k}, p => p.restarts >= min_restarts)
    log "{{len(crashing_{k})}} of {{len(pods_{k})}} replicas of {{app}} restarted {{min_restarts}} times or more"
  }}
""", [
                banner(f"Find the crashlooping replicas ({k})"),
                assert_("Require an app label", "app | length > 0", "the alert carries no app label"),
                kubectl("List the pods of the app",
                        ["get", "pods", "-n", '"{{ k8s_namespace }}"', "-l", '"app={{ app }}"', "-o", "json"],
                        register=f"pods_{k}"),
                set_fact("Select the crashing pods", f"crashing_{k}",
                         f"{{{{ (pods_{k}.stdout | from_json)['items'] | selectattr('status.containerStatuses.0.restartCount', 'ge', min_restarts) | map(attribute='metadata.name') | list }}}}"),
                debug("Log crashing pods", f"{{{{ crashing_{k} | length }}}} replicas of {{{{ app }}}} crashloop"),
            ]),
            (f"""  step evidence_{k} "Post the logs of a crashing replica" when len(crashing_{k}) > 0 {{
    on failure continue
    let victim_{k} = first(crashing_{k})
    slack.post(channel: "{channel}", text: "{{app}}: {{victim_{k}.name}} on {{victim_{k}.node}} restarted {{victim_{k}.restarts}} times. Last log lines:\\n{{k8s.logs(victim_{k}, tail: 30)}}")
  }}
""", [
                banner(f"Post the logs of a crashing replica ({k})"),
                kubectl("Read the logs of the first crashing pod",
                        ["logs", "-n", '"{{ k8s_namespace }}"', f'"{{{{ crashing_{k}[0] }}}}"', "--tail", "30"],
                        register=f"victim_logs_{k}", when=f"crashing_{k} | length > 0"),
                slack("Post the logs", channel,
                      f"{{{{ app }}}}: {{{{ crashing_{k}[0] | default('') }}}} crashloops: {{{{ victim_logs_{k}.stdout | default('') }}}}",
                      ignore_errors=True),
            ]),
            (f"""  step replace_{k} "Delete the crashing replicas so they are rescheduled" when len(crashing_{k}) > 0 {{
    approval required from "platform-oncall" timeout 10m on timeout escalate
    expect len(crashing_{k}) <= 2 else "{{len(crashing_{k})}} replicas are crashing: more than this runbook replaces on its own"
    for p in crashing_{k} {{
      k8s.delete_pod(p)
    }}
  }}
""", [
                gate(f"Delete the crashing replicas ({k})", "platform-oncall", 10),
                assert_("Bound the number of pods to delete", f"crashing_{k} | length <= 2",
                        "too many replicas crash to replace them unattended"),
                debug("List the pods to delete", f"deleting {{{{ crashing_{k} | join(', ') }}}}"),
                kubectl("Delete the crashing pods", ["delete", "pod", "-n", '"{{ k8s_namespace }}"', '"{{ item }}"'],
                        changed=True, loop=f'"{{{{ crashing_{k} }}}}"'),
            ]),
            (f"""  verify ready_{k} "All replicas of {{app}} ready" {{
    expect fully_ready(k8s.deployment(name: app, namespace: namespace)) within 5m every 15s
  }}
""", [
                banner(f"All replicas ready ({k})"),
                poll("Wait for every replica to be ready",
                     "kubectl, rollout, status, -n, \"{{ k8s_namespace }}\", \"deployment/{{ app }}\", --timeout, 15s",
                     "poll_result.rc == 0", 20, 15),
            ]),
        ],
    }


def block_lag(k):
    return {
        "inputs": ["replica", "max_lag", "query_limit"],
        "externs": ["pg.replication_lag", "pg.active_queries", "pg.terminate"],
        "steps": [
            (f"""  step measure_lag_{k} "Measure replica lag and find long queries" {{
    let lag_{k} = pg.replication_lag(replica)
    let blockers_{k} = pg.active_queries(replica, older_than: query_limit)
    log "replica is {{lag_{k}}} behind (limit {{max_lag}}), {{len(blockers_{k})}} queries older than {{query_limit}}"
  }}
""", [
                banner(f"Measure replica lag ({k})"),
                psql("Read replica lag", "replica_url",
                     "SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())::int", f"lag_{k}"),
                psql("List long replica queries", "replica_url",
                     "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query_start < now() - make_interval(mins => {{ query_limit_minutes }})",
                     f"blockers_{k}"),
                debug("Log replica lag",
                      f"replica is {{{{ lag_{k}.stdout }}}}s behind, {{{{ blockers_{k}.stdout_lines | length }}}} long queries"),
            ]),
            (f"""  step cancel_{k} "End the long-running replica queries" when lag_{k} > max_lag and len(blockers_{k}) > 0 {{
    approval required 2 from "database-oncall" timeout 10m on timeout escalate reason "ends reporting queries on the replica; their users must re-run them"
    let cancelled_{k} = pg.terminate(replica, blockers_{k}, max: 10)
    log "ended {{cancelled_{k}}} replica queries"
  }}
""", [
                gate(f"End the long-running replica queries ({k})", "database-oncall", 10),
                psql("Terminate long replica queries", "replica_url",
                     "SELECT count(pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query_start < now() - make_interval(mins => {{ query_limit_minutes }}) LIMIT 10) AS q",
                     f"cancelled_{k}"),
                debug("Log ended queries", f"ended {{{{ cancelled_{k}.stdout }}}} replica queries"),
            ]),
            (f"""  verify caught_up_{k} "Replica lag below {{max_lag}}" {{
    expect pg.replication_lag(replica) < max_lag within 10m every 30s
  }}
""", [
                banner(f"Replica lag below the limit ({k})"),
                poll("Wait for the replica to catch up",
                     "psql, \"{{ replica_url }}\", -Atc, \"SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())::int\"",
                     "poll_result.stdout | int < max_lag_seconds | int", 20, 30),
            ]),
        ],
    }


def block_restart(k):
    return {
        "inputs": ["namespace", "app"],
        "externs": ["k8s.deployment", "k8s.rollout_restart"],
        "needs_fully_ready": True,
        "steps": [
            (f"""  step deployment_state_{k} "Read the deployment of {{app}}" {{
    let deploy_{k} = k8s.deployment(name: app, namespace: namespace)
    let missing_{k} = deploy_{k}.replicas - deploy_{k}.ready_replicas
    if missing_{k} > 0 {{
      log "{{missing_{k}}} of {{deploy_{k}.replicas}} replicas of {{app}} are not ready"
    }}
  }}
""", [
                banner(f"Read the deployment ({k})"),
                kubectl("Read the deployment", ["get", "deployment", "-n", '"{{ k8s_namespace }}"', '"{{ app }}"', "-o", "json"],
                        register=f"deploy_{k}"),
                set_fact("Count the replicas that are not ready", f"missing_{k}",
                         f"{{{{ (deploy_{k}.stdout | from_json).spec.replicas - ((deploy_{k}.stdout | from_json).status.readyReplicas | default(0)) }}}}"),
                set_fact("Decide whether replicas are missing", f"degraded_{k}", f"{{{{ missing_{k} | int > 0 }}}}"),
                debug("Log the replicas that are not ready", f"{{{{ missing_{k} }}}} replicas of {{{{ app }}}} are not ready",
                      when=f"degraded_{k} | bool"),
            ]),
            (f"""  step restart_{k} "Rolling restart of {{app}}" when missing_{k} > 0 {{
    approval required from "sre" timeout 15m on timeout deny reason "every replica loses its in-memory state and connections"
    timeout 10m
    k8s.rollout_restart(deployment: app, namespace: namespace)
  }}
""", [
                gate(f"Rolling restart ({k})", "sre", 15),
                kubectl("Restart the deployment", ["rollout", "restart", "-n", '"{{ k8s_namespace }}"', '"deployment/{{ app }}"'],
                        changed=True, when=f"missing_{k} | int > 0"),
            ]),
            (f"""  verify restarted_{k} "Deployment {{app}} fully ready after the restart" {{
    expect fully_ready(k8s.deployment(name: app, namespace: namespace)) within 10m every 30s
  }}
""", [
                banner(f"Deployment fully ready after the restart ({k})"),
                poll("Wait for the restart to finish",
                     "kubectl, rollout, status, -n, \"{{ k8s_namespace }}\", \"deployment/{{ app }}\", --timeout, 30s",
                     "poll_result.rc == 0", 20, 30),
            ]),
        ],
    }


def block_slots(k):
    return {
        "inputs": ["db"],
        "externs": ["pg.query", "pg.execute"],
        "needs_slots_sql": True,
        "steps": [
            (f"""  step find_slots_{k} "Find inactive replication slots retaining WAL" {{
    let stale_{k} = pg.query(db, STALE_SLOTS_SQL)
    log "{{len(stale_{k})}} inactive slot(s) retain more than 1 GB of WAL"
  }}
""", [
                banner(f"Find inactive replication slots ({k})"),
                psql("List inactive slots", "db_url",
                     "SELECT slot_name FROM pg_replication_slots WHERE NOT active AND pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) > 1073741824",
                     f"stale_{k}"),
                debug("Log inactive slots", f"{{{{ stale_{k}.stdout_lines | length }}}} inactive slots retain WAL"),
            ]),
            (f"""  step drop_slots_{k} "Drop the inactive slots and checkpoint" when len(stale_{k}) > 0 {{
    approval required 2 from "database-oncall" timeout 15m on timeout escalate reason "the consumer of a dropped slot must be re-seeded from scratch"
    // More than three stale slots means something bigger is wrong: leave it to a human.
    expect len(stale_{k}) <= 3 else "{{len(stale_{k})}} stale slots is more than 3: not dropping any"
    for slot in stale_{k} {{
      pg.execute(db, drop_slot_sql(slot))
    }}
    pg.execute(db, "CHECKPOINT")
  }}
""", [
                gate(f"Drop the inactive slots ({k})", "database-oncall", 15),
                assert_("Bound the number of slots to drop", f"stale_{k}.stdout_lines | length <= 3",
                        "more than 3 stale slots: not dropping any"),
                debug("List the slots to drop", f"dropping {{{{ stale_{k}.stdout_lines | join(', ') }}}}"),
                """    - name: Drop the inactive slots
      ansible.builtin.command:
        argv:
          - psql
          - "{{ db_url }}"
          - -Atc
          - "SELECT pg_drop_replication_slot('{{ item }}')"
      loop: "{{ stale_K.stdout_lines }}"
      changed_when: true
""".replace("stale_K", f"stale_{k}"),
                """    - name: Checkpoint
      ansible.builtin.command:
        argv:
          - psql
          - "{{ db_url }}"
          - -Atc
          - CHECKPOINT
      changed_when: true
""",
            ]),
            (f"""  verify wal_shrunk_{k} "WAL directory below 4 GB" {{
    expect len(pg.query(db, WAL_TOO_BIG_SQL)) == 0 within 10m every 30s
  }}
""", [
                banner(f"WAL directory below 4 GB ({k})"),
                poll("Wait for the WAL to shrink",
                     "psql, \"{{ db_url }}\", -Atc, \"SELECT 1 WHERE (SELECT sum(size) FROM pg_ls_waldir()) > 4294967296\"",
                     "poll_result.stdout | length == 0", 20, 30),
            ]),
        ],
    }


def block_scale(k):
    return {
        "inputs": ["namespace", "app", "max_replicas"],
        "externs": ["k8s.deployment", "k8s.pods", "k8s.scale"],
        "needs_fully_ready": True,
        "steps": [
            (f"""  step capacity_{k} "Check the capacity of {{app}}" {{
    let current_{k} = k8s.deployment(name: app, namespace: namespace)
    let running_{k} = filter(k8s.pods(namespace: namespace, selector: "app={{app}}"), p => p.phase == "Running")
    let wanted_{k} = min(current_{k}.replicas + 2, max_replicas)
    log "{{len(running_{k})}} pods of {{app}} running, {{current_{k}.replicas}} desired, scaling to {{wanted_{k}}}"
  }}
""", [
                banner(f"Check the capacity ({k})"),
                kubectl("Read the deployment", ["get", "deployment", "-n", '"{{ k8s_namespace }}"', '"{{ app }}"', "-o", "json"],
                        register=f"current_{k}"),
                kubectl("List the running pods",
                        ["get", "pods", "-n", '"{{ k8s_namespace }}"', "-l", '"app={{ app }}"', "--field-selector", "status.phase=Running", "-o", "name"],
                        register=f"running_{k}"),
                set_fact("Compute the wanted replica count", f"wanted_{k}",
                         f"{{{{ [(current_{k}.stdout | from_json).spec.replicas + 2, max_replicas | int] | min }}}}"),
                debug("Log the capacity", f"{{{{ running_{k}.stdout_lines | length }}}} pods running, scaling to {{{{ wanted_{k} }}}}"),
            ]),
            (f"""  step scale_up_{k} "Scale {{app}} to {{wanted_{k}}} replicas" when current_{k}.replicas < wanted_{k} {{
    approval required from "sre" timeout 10m on timeout deny reason "more replicas open more database connections"
    k8s.scale(deployment: app, namespace: namespace, replicas: wanted_{k})
  }}
""", [
                gate(f"Scale up ({k})", "sre", 10),
                kubectl("Scale the deployment",
                        ["scale", "-n", '"{{ k8s_namespace }}"', '"deployment/{{ app }}"', f'"--replicas={{{{ wanted_{k} }}}}"'],
                        changed=True),
            ]),
            (f"""  verify scaled_{k} "Every replica of {{app}} ready after scaling" {{
    expect fully_ready(k8s.deployment(name: app, namespace: namespace)) within 5m every 15s
  }}
""", [
                banner(f"Every replica ready after scaling ({k})"),
                poll("Wait for the new replicas",
                     "kubectl, rollout, status, -n, \"{{ k8s_namespace }}\", \"deployment/{{ app }}\", --timeout, 15s",
                     "poll_result.rc == 0", 20, 15),
            ]),
        ],
    }


# Values each mocked extern returns in the generated tests (types match the stdlib).
MOCKS = {
    "pg.pool_usage": "[95%, 60%, 60%, 60%, 60%, 60%, 60%, 60%]",
    "pg.active_connections": "42",
    "pg.idle_connections": "[pg.session(pid: 4242, idle: 2h), pg.session(pid: 4243, idle: 3h)]",
    "pg.terminate": "1",
    "pg.replication_lag": "[4m, 2s, 2s, 2s, 2s]",
    "pg.active_queries": '[pg.session(pid: 811, idle: 0s, user: "metabase")]',
    "pg.query": '[{"slot_name": "debezium_<SVC>", "slot_type": "logical", "retained": "38 GB"}]',
    "pg.execute": "1",
    "k8s.pods": '[k8s.pod("<SVC>-api-1", app: "<SVC>-api"), k8s.pod("<SVC>-api-2", restarts: 12, node: "node-7", app: "<SVC>-api"), k8s.pod("<SVC>-api-3", app: "<SVC>-api")]',
    "k8s.logs": '"panic: cannot open /tmp/cache.db: input/output error"',
    "k8s.deployment": '{name: "<SVC>-api", namespace: "prod", replicas: 3, ready_replicas: 3, available_replicas: 3, updated_replicas: 3, selector: {"app": "<SVC>-api"}, conditions: [], revision: 1, paused: false}',
    "k8s.delete_pod": "none",
    "k8s.rollout_restart": "none",
    "k8s.scale": "none",
    "slack.post": "none",
    "pagerduty.page": "none",
    "pagerduty.resolve": "none",
}

STALE_SLOTS_SQL = '''/// Rows (one per slot) for the inactive replication slots holding more than 1 GB of WAL.
const STALE_SLOTS_SQL: string = """
  SELECT slot_name,
         slot_type,
         pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)) AS retained
    FROM pg_replication_slots
   WHERE NOT active
     AND pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) > 1024 * 1024 * 1024
"""

/// One row while the WAL directory is larger than 4 GB, none once it is below.
const WAL_TOO_BIG_SQL: string = """
  SELECT 1 WHERE (SELECT sum(size) FROM pg_ls_waldir()) > 4 * 1024 * 1024 * 1024
"""

/// The statement that drops one slot returned by STALE_SLOTS_SQL.
fn drop_slot_sql(slot: map<string, string>) -> string {
  let name = slot["slot_name"] ?? ""
  return "SELECT pg_drop_replication_slot('{name}')"
}

'''

FULLY_READY = '''/// True when every desired replica of the deployment passes its readiness probe.
fn fully_ready(d: k8s.Deployment) -> bool {
  return d.ready_replicas >= d.replicas
}

'''

OPTION_RE = re.compile(r"^(approval|retry|timeout|on failure)\b")


def count_statements(step_text):
    """Statements in one step: every line of its body except options, comments and braces."""
    lines = step_text.strip("\n").split("\n")
    body = [l.strip() for l in lines if not l.strip().startswith("//")]
    assert body[0].startswith(("step ", "verify ")) and body[-1] == "}", step_text
    n = 0
    for line in body[1:-1]:
        if line in ("}", "} else {") or OPTION_RE.match(line):
            continue
        n += 1
    return n


def make_runbook(i, rng):
    svc = SERVICES[i % len(SERVICES)]
    name = f"{svc}_incident_{i:04d}"
    team = rng.choice(TEAMS)
    channel = rng.choice(CHANNELS)
    subs = {
        "<SVC>": svc, "<SVCU>": svc.upper(), "<IDLE>": str(rng.choice([1, 2, 4])),
        "<TARGET>": str(rng.choice([60, 70, 75, 80])), "<MAXLAG>": str(rng.choice([10, 30, 60])),
        "<QLIMIT>": str(rng.choice([2, 5, 10])), "<MINR>": str(rng.choice([3, 5, 8])),
        "<MAXR>": str(rng.choice([6, 8, 12])),
    }
    subs["<IDLE_S>"] = str(int(subs["<IDLE>"]) * 3600)

    kinds = ["pool", "crashloop", "lag", "restart", "slots", "scale"]
    # Five blocks per runbook; never the same block twice in a row.
    chosen = []
    while len(chosen) < 5:
        kind = rng.choice(kinds)
        if chosen and chosen[-1] == kind:
            continue
        chosen.append(kind)
    blocks = []
    for k, kind in enumerate(chosen):
        if kind == "pool":
            blocks.append(block_pool(k))
        elif kind == "crashloop":
            blocks.append(block_crashloop(k, channel))
        elif kind == "lag":
            blocks.append(block_lag(k))
        elif kind == "restart":
            blocks.append(block_restart(k))
        elif kind == "slots":
            blocks.append(block_slots(k))
        else:
            blocks.append(block_scale(k))

    inputs = [key for key in INPUTS if any(key in b["inputs"] for b in blocks)]
    externs = {"slack.post", "pagerduty.page", "pagerduty.resolve"}
    for b in blocks:
        externs.update(b["externs"])
    uses = ["use std.postgres as pg", "use std.k8s", "use std.slack", "use std.pagerduty"]

    alert = f"{svc.capitalize()}Incident{i % 7}"
    out = []
    out.append("\n".join(uses) + "\n\n")
    out.append(f"// Generated by bench/gen_workspace.py (runbook {i}): a benchmark input, not a real runbook.\n\n")
    if any(b.get("needs_slots_sql") for b in blocks):
        out.append(STALE_SLOTS_SQL)
    if any(b.get("needs_fully_ready") for b in blocks):
        out.append(FULLY_READY)
    out.append(f"/// Repairs the {svc} service when {alert} fires: {', '.join(chosen)}.\n")
    out.append(f"runbook {name} {{\n")
    out.append(f'  title "{svc.capitalize()} incident {i}: {", ".join(chosen)}"\n')
    out.append(f'  owner "{team}"\n')
    out.append(f'  trigger alert "{alert}" where alert.labels["service"] == "{svc}"\n\n')
    out.append("  input {\n")
    for key in inputs:
        if key in INPUT_COMMENTS:
            out.append(f"    {INPUT_COMMENTS[key]}\n")
        out.append(f"    {INPUTS[key][0]}\n")
    out.append("  }\n\n")
    out.append("  // One run per app at a time, and at most three an hour: a fourth needs a human.\n")
    out.append('  concurrency 1 per alert.labels["app"]\n')
    out.append('  rate 3 per 1h by alert.labels["app"]\n')
    out.append(f"  timeout {rng.choice([20, 30, 45, 60])}m\n")
    out.append(f'  escalate pagerduty.page(service: "{team}", summary: "{name} needs a human: {{run.summary}}")\n\n')

    steps = []  # (name, rbk text, [tasks])
    for b in blocks:
        for text, tasks in b["steps"]:
            steps.append((text, tasks))
    # Closing steps: resolve the page and report.
    first_log = {
        "pool": "usage_{k}", "crashloop": "crashing_{k}", "lag": "lag_{k}", "restart": "missing_{k}",
        "slots": "stale_{k}", "scale": "wanted_{k}",
    }
    summary_var = first_log[chosen[0]].format(k=0)
    summary_expr = f"len({summary_var})" if chosen[0] in ("crashloop", "slots") else summary_var
    steps.append((f"""  step resolve "Resolve the page this run opened" {{
    on failure continue
    pagerduty.resolve(service: "{team}", summary: "{name} repaired the {svc} service")
  }}
""", [
        banner("Resolve the page this run opened"),
        pagerduty("Resolve the incident", "resolve", team, f"{name} repaired the {svc} service"),
    ]))
    notify_text = f"{name}: {', '.join(chosen)} done on {svc} (first measure: {{{summary_expr}}})"
    steps.append((f'  notify slack.post(channel: "{channel}", text: "{notify_text}")\n', [
        slack("Report to Slack", channel, f"{name}: {', '.join(chosen)} done on {svc}"),
    ]))

    n_steps = len(steps)
    n_statements = 0
    tasks = []
    body = []
    for text, step_tasks in steps:
        if text.lstrip().startswith("notify"):
            stmts = 0
        else:
            stmts = count_statements(text)
        assert len(step_tasks) == 1 + stmts, (text, len(step_tasks), stmts)
        n_statements += stmts
        tasks.extend(step_tasks)
        body.append(text)
    out.append("\n".join(body))
    out.append("}\n\n")

    # Tests: the happy path, a denied approval, and a quiet run where the fixes are skipped.
    gated = [re.search(r"step (\w+)", t).group(1) for t, _ in steps if "approval required" in t]
    quorum = {re.search(r"step (\w+)", t).group(1): (2 if "approval required 2" in t else 1,
                                                      re.search(r'from "([\w-]+)"', t).group(1))
              for t, _ in steps if "approval required" in t}
    mocks = [f"  mock {e} returns {MOCKS[e]}\n" for e in sorted(externs)]
    alert_clause = f'alert {{ labels: {{"service": "{svc}", "app": "{svc}-api", "namespace": "prod"}} }}'

    out.append(f'test "{name}: every fix approved and applied" {{\n')
    out.extend(mocks)
    for step in gated:
        n, group = quorum[step]
        for who in APPROVERS[group][:n]:
            out.append(f'  approve {step} as "{who}"\n')
    out.append(f"  run {name} {alert_clause}\n")
    first_steps = [re.search(r"(?:step|verify) (\w+)", t).group(1) for t, _ in steps[:3]]
    out.append(f"  expect step {first_steps[0]} succeeded\n")
    out.append("  expect step resolve succeeded\n")
    out.append("  expect not escalated\n")
    out.append("}\n")
    if gated:
        out.append(f'\ntest "{name}: a denied approval escalates" {{\n')
        out.extend(mocks)
        out.append(f"  deny {gated[0]}\n")
        out.append(f"  run {name} {alert_clause}\n")
        out.append(f"  expect step {gated[0]} denied\n")
        out.append("  expect escalated\n")
        out.append("}\n")

    rbk = "".join(out)
    for key, value in subs.items():
        rbk = rbk.replace(key, value)

    # The playbook.
    play = [
        "---\n",
        f"# Generated by bench/gen_workspace.py: the Ansible equivalent of {name}.rbk\n",
        f"- name: {svc.capitalize()} incident {i}\n",
        "  hosts: localhost\n",
        "  gather_facts: false\n",
        "  vars:\n",
        '    slack_webhook_url: "{{ lookup(\'ansible.builtin.env\', \'SLACK_WEBHOOK_URL\') }}"\n',
        "    pagerduty_keys:\n",
        f'      {team}: "{{{{ lookup(\'ansible.builtin.env\', \'PAGERDUTY_KEY\') }}}}"\n',
        '    run_id: "{{ lookup(\'ansible.builtin.env\', \'RUN_ID\') }}"\n',
    ]
    for key in inputs:
        play.append(f"    {INPUTS[key][1]}\n")
    play.append("  tasks:\n")
    play.extend(tasks)
    yml = "".join(play)
    for key, value in subs.items():
        yml = yml.replace(key, value)

    return {
        "name": name, "team": team, "rbk": rbk, "yml": yml, "steps": n_steps,
        "statements": n_statements, "tasks": len(tasks),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", help="directory to (re)create")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    rbk_dir = os.path.join(args.out, "rbk")
    ans_dir = os.path.join(args.out, "ansible")
    for d in (rbk_dir, ans_dir):
        if os.path.exists(d):
            shutil.rmtree(d)
    os.makedirs(os.path.join(ans_dir, "playbooks"))
    os.makedirs(rbk_dir)

    with open(os.path.join(rbk_dir, "rbk.toml"), "w") as f:
        f.write("# Approver groups for the generated benchmark runbooks.\n\n[approvers]\n")
        for group, people in APPROVERS.items():
            f.write(f"{group} = [{', '.join(json.dumps(p) for p in people)}]\n")
    with open(os.path.join(ans_dir, ".ansible-lint"), "w") as f:
        f.write("---\n# Generated by bench/gen_workspace.py.\nprofile: production\noffline: true\n")

    totals = {"files": args.count, "rbk_lines": 0, "steps": 0, "statements": 0, "ansible_tasks": 0,
              "ansible_lines": 0}
    for i in range(args.count):
        rb = make_runbook(i, rng)
        team_dir = os.path.join(rbk_dir, rb["team"])
        os.makedirs(team_dir, exist_ok=True)
        with open(os.path.join(team_dir, f"rb_{i:04d}.rbk"), "w") as f:
            f.write(rb["rbk"])
        with open(os.path.join(ans_dir, "playbooks", f"rb_{i:04d}.yml"), "w") as f:
            f.write(rb["yml"])
        totals["rbk_lines"] += rb["rbk"].count("\n")
        totals["ansible_lines"] += rb["yml"].count("\n")
        totals["steps"] += rb["steps"]
        totals["statements"] += rb["statements"]
        totals["ansible_tasks"] += rb["tasks"]
    assert totals["ansible_tasks"] == totals["steps"] + totals["statements"]
    with open(os.path.join(args.out, "counts.json"), "w") as f:
        json.dump(totals, f, indent=2)
        f.write("\n")
    print(f"rbk:     {totals['files']} runbooks, {totals['rbk_lines']} lines, {totals['steps']} steps "
          f"+ {totals['statements']} statements = {totals['steps'] + totals['statements']}")
    print(f"ansible: {totals['files']} playbooks, {totals['ansible_lines']} lines, "
          f"{totals['ansible_tasks']} tasks")


if __name__ == "__main__":
    sys.exit(main())
