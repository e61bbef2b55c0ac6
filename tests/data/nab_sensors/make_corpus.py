"""Writes this folder's small NAB-format corpus (run from the repository root:
``python tests/data/nab_sensors/make_corpus.py``). The files are committed; this is how they
were made, with a fixed seed.

* ``sensors/cpu_share.csv``: a CPU share between 0 and 1 (values like 0.37) every 5 minutes
  with a daily cycle; it dips to almost nothing for two hours (a downward anomaly).
* ``sensors/freezer_temp.csv``: a freezer's temperature in °C (about -18, all negative) every
  hour; the door is left open and it climbs to -4 for half a day (an upward anomaly).
* ``sensors/pump_flow.csv``: a steady flow with no anomaly and no window.

The labels file is named ``labels/combined_windows_sensors.json`` and is keyed like NAB's
(``"sensors/cpu_share.csv"``); there is no profiles.json.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).parent
START = datetime(2021, 3, 1)
ROWS = 2000


def stamps(step: timedelta) -> list[datetime]:
    return [START + i * step for i in range(ROWS)]


def write(name: str, times: list[datetime], values: np.ndarray) -> None:
    lines = ["timestamp,value"] + [
        f"{t:%Y-%m-%d %H:%M:%S},{v:.4f}" for t, v in zip(times, values, strict=True)
    ]
    (ROOT / "sensors" / name).write_text("\n".join(lines) + "\n")


def window(times: list[datetime], first: int, last: int) -> list[str]:
    return [f"{times[first]:%Y-%m-%d %H:%M:%S}.000000", f"{times[last]:%Y-%m-%d %H:%M:%S}.000000"]


def main() -> None:
    rng = np.random.default_rng(13)
    (ROOT / "sensors").mkdir(exist_ok=True)
    (ROOT / "labels").mkdir(exist_ok=True)
    day = np.arange(ROWS)

    five = stamps(timedelta(minutes=5))
    cpu = 0.45 + 0.2 * np.sin(2 * np.pi * day / 288) + rng.normal(0, 0.02, ROWS)
    cpu[1400:1424] = 0.02 + rng.uniform(0, 0.01, 24)  # two hours of almost nothing
    write("cpu_share.csv", five, np.clip(cpu, 0, 1))

    hourly = stamps(timedelta(hours=1))
    temp = -18.0 + 0.8 * np.sin(2 * np.pi * day / 24) + rng.normal(0, 0.15, ROWS)
    temp[1500:1512] = np.linspace(-12, -4, 12)  # the door left open
    write("freezer_temp.csv", hourly, temp)

    flow = 12.5 + rng.normal(0, 0.1, ROWS)
    write("pump_flow.csv", five, flow)

    labels = {
        "sensors/cpu_share.csv": [window(five, 1380, 1480)],
        "sensors/freezer_temp.csv": [window(hourly, 1480, 1580)],
        "sensors/pump_flow.csv": [],
    }
    path = ROOT / "labels" / "combined_windows_sensors.json"
    path.write_text(json.dumps(labels, indent=2) + "\n")


if __name__ == "__main__":
    main()
