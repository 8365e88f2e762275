"""media.rt_priority: the media workers run SCHED_FIFO at the configured priority where the process may, say so in
/metrics, and run at normal priority with 0. Where it may not (no root, no CAP_SYS_NICE, RLIMIT_RTPRIO too low),
the log must say the setting was not applied and the metric must be 0: the gateway still works."""
import os
import resource

import gbtest

gbtest.require_tools("gbgate")
check = gbtest.Check("media_rt")
SCHED_OTHER, SCHED_FIFO = 0, 1


def may_use_fifo(prio):
    """The kernel's rule: CAP_SYS_NICE (root here), or RLIMIT_RTPRIO at least prio."""
    soft, _ = resource.getrlimit(resource.RLIMIT_RTPRIO)
    return os.geteuid() == 0 or soft == resource.RLIM_INFINITY or soft >= prio


def worker_policies(gw):
    """{thread name: (policy, rt_priority)} of the gateway's worker threads, from /proc/PID/task/*/stat."""
    out = {}
    task_dir = f"/proc/{gw.proc.pid}/task"
    for tid in os.listdir(task_dir):
        with open(f"{task_dir}/{tid}/comm") as f:
            name = f.read().strip()
        if not name.startswith("gbgate-w"):
            continue
        with open(f"{task_dir}/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()  # after "pid (comm)": field 3 is fields[0]
        out[name] = (int(fields[38]), int(fields[37]))  # stat fields 41 (policy) and 40 (rt_priority)
    return out


for prio in (10, 0):
    gw = gbtest.Gateway({"media.rt_priority": prio, "sip.enabled": "off"}, name=f"media_rt{prio}", workers=2)
    gbtest.wait_until(lambda: len(worker_policies(gw)) == 2, 5, "two worker threads")
    policies = worker_policies(gw)
    metric = gw.metric_sum("gbgate_worker_rt_priority")
    if prio and may_use_fifo(prio):
        check.eq(f"rt_priority={prio}: both workers SCHED_FIFO at {prio}", sorted(policies.values()),
                 [(SCHED_FIFO, prio)] * 2)
        check.eq(f"rt_priority={prio}: /metrics says so for each worker", metric, 2 * prio)
        check.ok(f"rt_priority={prio}: logged", f"SCHED_FIFO at priority {prio}" in gw.log())
    elif prio:
        check.eq(f"rt_priority={prio} not permitted: workers stay SCHED_OTHER", sorted(policies.values()),
                 [(SCHED_OTHER, 0)] * 2)
        check.eq(f"rt_priority={prio} not permitted: /metrics 0", metric, 0)
        check.ok(f"rt_priority={prio} not permitted: logged", "not applied" in gw.log())
    else:
        check.eq("rt_priority=0: both workers SCHED_OTHER", sorted(policies.values()), [(SCHED_OTHER, 0)] * 2)
        check.eq("rt_priority=0: /metrics 0", metric, 0)
    check.ok("the gateway answers", gw.api("GET", "/api/v1/health")[0] == 200)
    check.eq("gbgate exits 0", gw.stop(), 0)
check.summary()
