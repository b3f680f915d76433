"""The profile split in docs/performance.md: stacks land in the category a reader would expect."""

import bench_profile as bp

MAIN = 'process 1:"python ansible-playbook site.yml"'
WORKER = 'process 2:"python ansible-playbook site.yml"'
MODULE = 'process 3:"/bin/sh -c"' + ";" + 'process 4:"/bin/sh -c"' + ";" + 'process 5:"python"'


def stack(*parts: str) -> str:
    return ";".join(parts)


def test_module_process_boot_and_own_work_are_told_apart():
    boot = stack(MAIN, WORKER, MODULE, "<module> (<stdin>:266)", "_ansiballz_main (<stdin>:260)",
                 "_find_and_load (<frozen importlib._bootstrap>:1176)", "<module> (basic.py:89)")
    own = stack(MAIN, WORKER, MODULE, "_ansiballz_main (<stdin>:260)", "_run_module (<frozen runpy>:1)",
                "main (baseline.py:40)")
    assert bp.classify(boot) == bp.MODULE_BOOT
    assert bp.classify(own) == bp.MODULE_OWN


def test_worker_and_main_categories():
    pack = stack(MAIN, WORKER, "TaskExecutor.run (task_executor.py:1)", "ActionBase._configure_module (a.py:1)",
                 "modify_module (module_common.py:1)")
    wait = stack(MAIN, WORKER, "ActionBase._low_level_execute_command (a.py:1)",
                 "_PollLikeSelector.select (selectors.py:415)")
    fork = stack(MAIN, "StrategyBase._queue_task (s.py:1)", "Popen._launch (popen_fork.py:1)")
    assert bp.classify(pack) == bp.WORKER_PACK
    assert bp.classify(wait) == bp.WAITING
    assert bp.classify(fork) == bp.MAIN_FORK
    assert bp.classify(MAIN) == bp.MAIN_NATIVE
    assert bp.classify(stack(MAIN, WORKER, MODULE)) == bp.MODULE_NATIVE


def test_table_reports_shares_of_sampled_cpu_without_waiting():
    raw = "\n".join([
        stack(MAIN, WORKER, MODULE, "_ansiballz_main (<stdin>:260)", "_find_and_load (x:1)") + " 300",
        stack(MAIN, WORKER, MODULE, "_ansiballz_main (<stdin>:260)", "_run_module (r:1)") + " 100",
        stack(MAIN, WORKER, "ActionBase._low_level_execute_command (a.py:1)", "X.select (s.py:1)") + " 200",
    ])
    table = bp.profile_table({"per_setting": raw}, hosts=2, rate=100)
    assert "| per setting |" in table
    assert f"| {bp.MODULE_BOOT} | 75 % |" in table
    assert f"| {bp.MODULE_OWN} | 25 % |" in table
    assert bp.WAITING not in table
    assert "| sampled CPU seconds per host | 2.00 |" in table
