//! Programs that must check with no diagnostic at all: the constructs the other cases break,
//! written correctly. A diagnostic appearing here is a false alarm.

assert_clean!(
    statements_expressions_and_builtins,
    r##"use std.postgres as pg
use std.slack

const LIMIT: int = 5

fn double(x: int) -> int {
  return x * 2
}

runbook pool_report {
  title "Report pool usage"
  owner "dba"
  timeout 10m
  input {
    db: pg.Database = pg.connect(secret("URL"))
    channel: string = "#db"
  }

  step check "Check the pool" {
    let usage = pg.pool_usage(db)
    let idle = pg.idle_connections(db, older_than: 1h)
    let counts = [len(idle), double(LIMIT)]
    let names = map(idle, s => s.user)
    let busy = filter(counts, n => n > 1)
    let labels = {"a": "1", "b": "2"}
    for n in busy {
      log "{n} of {max(counts)}, {sum(counts)} in all, {len(labels)} labels, {join(names, ",")}"
    }
    if usage > 90% {
      slack.post(channel: channel, text: "pool at {usage}")
    } else {
      log "pool fine: {size("10Gi")}, {matches("abc", "a+")}"
    }
    expect usage < 99% else "the pool is exhausted"
  }
}
"##
);

assert_clean!(
    decisions_read_where_they_are_known,
    r##"runbook resize_pool {
  title "Resize the worker pool"

  step resize "Resize the pool" {
    on failure continue
    approval required from "database-oncall" timeout 10m on timeout deny ask { new_size: int }
    log "resizing to {approval.new_size}"
  }

  step report "Report" when step.resize.failed {
    log "the resize failed"
  }

  verify settled {
    expect 1 < 2 within 2m every 5s
  }
}
"##
);
