"""Scanner messages through the real Mosquitto: published with QoS 1, consumed by
`manage.py consume_mqtt` into the inbox, applied by the worker."""

import json
import random
import threading
import uuid
from datetime import timedelta

import paho.mqtt.client as mqtt
import pytest

from integrations.models import (
    InboundMessage,
    MessageFormat,
    MessageState,
    SourceKind,
    SourceSystem,
    StatusMapping,
    Transport,
)
from orders.models import OrderLine

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

SCANS = ("PICKED", "PACKED", "SHIPPED")
LINES = 20


def _mqtt_client(client_id: str, *, clean_session: bool) -> mqtt.Client:
    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session)


def _open_session(address: tuple[str, int], client_id: str, topic: str) -> None:
    """Create the consumer's persistent session with its subscription, so that the broker keeps
    every message published from now on for it, however soon the consumer connects."""
    subscribed = threading.Event()
    client = _mqtt_client(client_id, clean_session=False)
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect(*address)
    client.loop_start()
    try:
        client.subscribe(topic, qos=1)
        assert subscribed.wait(timeout=10), f"Mosquitto did not confirm the subscription to {topic}"
    finally:
        client.disconnect()
        client.loop_stop()


def _close_session(address: tuple[str, int], client_id: str) -> None:
    client = _mqtt_client(client_id, clean_session=True)  # a clean connect drops the stored session
    client.connect(*address)
    client.disconnect()


def _publish(address: tuple[str, int], messages: list[tuple[str, str]]) -> None:
    client = _mqtt_client(f"system-test-scanner-{uuid.uuid4().hex[:8]}", clean_session=True)
    client.connect(*address)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=1).wait_for_publish(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()


def test_scanner_messages_from_mosquitto_reach_the_lines(stack, network, mosquitto, t0):
    # given an MQTT source for every depot's scanners, lines, and three scans per line
    source = SourceSystem.objects.create(
        code="sys-mqtt",
        name="Depot scanners",
        kind=SourceKind.DEPOT,
        message_format=MessageFormat.MQTT_SCAN,
        transport=Transport.MQTT,
        mqtt_topic="depots/+/scans",
    )
    StatusMapping.objects.bulk_create(
        StatusMapping(source=source, external_code=code, status=status)
        for code, status in zip(SCANS, ("picking", "packed", "shipped"), strict=True)
    )
    lines = network.lines(LINES, prefix="MQT")
    scans = [
        (
            f"depots/depot-{index % 3}/scans",
            json.dumps(
                {
                    "scan_id": f"MQT-{index:03d}-{event}",
                    "barcode": f"{line.order_number}/{line.number}",
                    "event": event,
                    "time": (t0 + timedelta(minutes=10 * step + index)).isoformat(),
                    "site": f"depot-{index % 3}",
                }
            ),
        )
        for index, line in enumerate(lines)
        for step, event in enumerate(SCANS)
    ]
    random.Random(3).shuffle(scans)
    client_id = f"system-test-inbox-{uuid.uuid4().hex[:8]}"
    _open_session(mosquitto, client_id, source.mqtt_topic)
    stack.start_worker()

    try:
        # when the consumer runs and the scanners publish with QoS 1
        consumer = stack.manage(
            "consume_mqtt",
            "--client-id",
            client_id,
            "--max-messages",
            str(len(scans)),
            "--seconds",
            "30",
            MQTT_URL=f"mqtt://{mosquitto[0]}:{mosquitto[1]}",
        )
        _publish(mosquitto, scans)
        assert consumer.process.wait(timeout=45) == 0, consumer.output()
        assert f"Stored {len(scans)} message(s)." in consumer.output()
        stack.wait_until(
            lambda: InboundMessage.objects.filter(state=MessageState.PROCESSED).count() == len(scans),
            timeout=60,
            what="the scans to be processed",
        )
    finally:
        _close_session(mosquitto, client_id)

    # then every scan is in the inbox once, from MQTT, and every line is shipped
    assert InboundMessage.objects.count() == len(scans)
    assert set(InboundMessage.objects.values_list("transport", "source__code")) == {(Transport.MQTT, "sys-mqtt")}
    statuses = OrderLine.objects.filter(pk__in=[line.pk for line in lines]).values_list("status", flat=True)
    assert set(statuses) == {"shipped"}
