"""Ctrl-C in a real process: asyncio.run cancels the main task, the stream ends cleanly, exit 0."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

CHILD = textwrap.dedent(
    """
    import asyncio, signal, sys
    signal.signal(signal.SIGINT, signal.default_int_handler)  # a background shell may ignore it
    from bandlog.emulate.stack import emulated_sensors
    from bandlog.emulate.twins.progressor import ProgressorTwin
    from bandlog.core.samples import SampleBlock
    from bandlog.sources.ble import stream

    async def main() -> int:
        twin = ProgressorTwin()
        samples = 0
        async with emulated_sensors([twin], speed=5) as world:
            async for item in stream("progressor", backends=world.backends, tare=False):
                if isinstance(item, SampleBlock):
                    if samples == 0:
                        print("streaming", flush=True)
                    samples += len(item)
                last = item
            print("ended", last.message, samples > 0, twin.streaming, world.peripheral("progressor").connection)
        return 0

    sys.exit(asyncio.run(main()))
    """
)


def test_sigint_stops_the_device_and_the_program_finishes_normally() -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "streaming"
        time.sleep(0.3)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=20)
    finally:
        child.kill()
    assert child.returncode == 0, err
    assert out.strip().splitlines()[-1] == "ended stopped by user True False None"
    assert "Traceback" not in err
