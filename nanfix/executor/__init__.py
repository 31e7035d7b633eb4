"""Executor: where the doctor runs. The user's script is arbitrary code, so it never runs in
nanfix's own process: `local.run_job` starts `worker` as a child process, watches its time
and memory, and always comes back with a report.
"""
