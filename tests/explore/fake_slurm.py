"""A stand-in for SLURM's sbatch, srun, sacct and scancel on one machine (tests only).

``sbatch SCRIPT`` prints ``Submitted batch job N`` and runs the batch script in the
background, every task of a job array in turn, with the environment SLURM gives a task,
recording each task's state (the tasks listed in ``$FAKE_SLURM_TIMEOUT``, as ``0,2``, do not
run and end ``TIMEOUT``, as if their time limit killed them at once); ``srun`` runs its
command with ``--output``/``--error`` patterns expanded; ``sacct`` reports the recorded
states; ``scancel`` does nothing. The state lives in ``$FAKE_SLURM_STATE``. This is enough
for submitit's SLURM executor, so Hydra's SLURM launcher runs end to end.

    python fake_slurm.py sbatch|srun|sacct|scancel ARGS...
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path


def _state() -> Path:
    path = Path(os.environ["FAKE_SLURM_STATE"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _record(job: str, state: str) -> None:
    with open(_state() / "jobs.jsonl", "a") as fh:
        fh.write(json.dumps({"job": job, "state": state}) + "\n")


def sbatch(args: list[str]) -> int:
    script = Path(args[-1])
    text = script.read_text()
    counter = _state() / "counter"
    job_id = int(counter.read_text()) + 1 if counter.exists() else 1000
    counter.write_text(str(job_id))
    array = re.search(r"^#SBATCH --array=(\d+)-(\d+)", text, re.MULTILINE)
    tasks = list(range(int(array.group(1)), int(array.group(2)) + 1)) if array else [None]
    for task in tasks:
        _record(str(job_id) if task is None else f"{job_id}_{task}", "PENDING")
    # like SLURM, return the job id at once (submitit then stores the job's pickle) and run
    # the tasks in the background, one after the other
    subprocess.Popen(
        [sys.executable, __file__, "run", str(script), str(job_id), json.dumps(tasks)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    print(f"Submitted batch job {job_id}")
    return 0


def run(args: list[str]) -> int:
    script, job_id = Path(args[0]), int(args[1])
    timed_out = os.environ.get("FAKE_SLURM_TIMEOUT", "").split(",")
    for task in json.loads(args[2]):
        env = {
            **os.environ,
            "SLURM_JOB_ID": str(job_id) if task is None else f"{job_id}{task:03d}",
            "SLURM_NTASKS": "1",
            "SLURM_JOB_NUM_NODES": "1",
            "SLURM_NODEID": "0",
            "SLURM_JOB_NODELIST": "localhost",
            "SLURM_PROCID": "0",
            "SLURM_LOCALID": "0",
        }
        name = str(job_id)
        if task is not None:
            env.update(SLURM_ARRAY_JOB_ID=str(job_id), SLURM_ARRAY_TASK_ID=str(task))
            name = f"{job_id}_{task}"
        if str(task) in timed_out:
            _record(name, "TIMEOUT")
            continue
        _record(name, "RUNNING")
        code = subprocess.run(["bash", str(script)], env=env).returncode
        _record(name, "COMPLETED" if code == 0 else "FAILED")
    return 0


def _expand(pattern: str) -> str:
    env = os.environ
    return (
        pattern.replace("%A", env.get("SLURM_ARRAY_JOB_ID", ""))
        .replace("%a", env.get("SLURM_ARRAY_TASK_ID", ""))
        .replace("%j", env.get("SLURM_JOB_ID", ""))
        .replace("%t", "0")
    )


def srun(args: list[str]) -> int:
    out = err = None
    i = 0
    while i < len(args) and args[i].startswith("-"):
        if args[i] in ("--output", "--error"):
            path = Path(_expand(args[i + 1]))
            path.parent.mkdir(parents=True, exist_ok=True)
            if args[i] == "--output":
                out = path
            else:
                err = path
            i += 2
        else:
            i += 1
    with open(out or os.devnull, "a") as o, open(err or out or os.devnull, "a") as e:
        return subprocess.run(args[i:], stdout=o, stderr=e).returncode


def sacct(args: list[str]) -> int:
    wanted = {args[i + 1] for i, a in enumerate(args) if a == "-j"}
    print("JobID|State|NodeList")
    path = _state() / "jobs.jsonl"
    states: dict[str, str] = {}  # the latest state of each job
    for line in path.read_text().splitlines() if path.exists() else []:
        rec = json.loads(line)
        states[rec["job"]] = rec["state"]
    for job, state in states.items():
        if job.split("_")[0] in wanted:
            print(f"{job}|{state}|localhost")
    return 0


def main() -> int:
    command, args = sys.argv[1], sys.argv[2:]
    handlers = {"sbatch": sbatch, "run": run, "srun": srun, "sacct": sacct, "scancel": lambda a: 0}
    return int(handlers[command](args))


if __name__ == "__main__":
    sys.exit(main())
