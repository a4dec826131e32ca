"""Print every MQTT message on the given topic filters (a tiny mosquitto_sub)."""

from __future__ import annotations

import argparse
import asyncio

import aiomqtt


async def watch(host: str, port: int, topics: list[str]) -> None:
    async with aiomqtt.Client(host, port) as client:
        for topic in topics:
            await client.subscribe(topic)
        async for message in client.messages:
            payload = (
                message.payload.decode() if isinstance(message.payload, bytes) else message.payload
            )
            flag = " (retained)" if message.retain else ""
            print(f"  {message.topic} {payload}{flag}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("topics", nargs="+")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    args = parser.parse_args()
    for _ in range(50):
        try:
            asyncio.run(watch(args.host, args.port, args.topics))
            return
        except aiomqtt.MqttError:
            asyncio.run(asyncio.sleep(0.1))
        except KeyboardInterrupt:
            return


if __name__ == "__main__":
    main()
