"""Subscribe to the MQTT topics of the MQTT sources and put every message in the inbox.

QoS 1 with manual acknowledgement: a message is acknowledged only after it is committed to the
inbox, and a persistent session makes the broker redeliver whatever was not acknowledged.
"""

import time
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from integrations.models import SourceSystem, Transport
from integrations.services.inbox import inbound_message_receive


class Command(BaseCommand):
    help = "Consume scanner messages from the MQTT broker (MQTT_URL) into the inbox."

    def add_arguments(self, parser):
        parser.add_argument("--client-id", default="partstatus-inbox", help="Stable id: keeps the broker session")
        parser.add_argument("--max-messages", type=int, default=0, help="Stop after this many (0: run for ever)")
        parser.add_argument("--seconds", type=float, default=0, help="Stop after this long (0: run for ever)")

    def handle(self, *args, **options):
        if not settings.MQTT_URL:
            raise CommandError("Set MQTT_URL, e.g. mqtt://127.0.0.1:1883")
        sources = {s.mqtt_topic: s for s in SourceSystem.objects.filter(active=True, transport=Transport.MQTT)}
        sources.pop("", None)
        if not sources:
            raise CommandError("No active MQTT source has a topic; set one in the back office.")
        self.received = 0
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=options["client_id"], clean_session=False, manual_ack=True
        )
        client.user_data_set(sources)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        url = urlparse(settings.MQTT_URL)
        if url.username:
            client.username_pw_set(url.username, url.password)
        client.connect(url.hostname or "127.0.0.1", url.port or 1883, keepalive=30)
        deadline = time.monotonic() + options["seconds"] if options["seconds"] else None
        client.loop_start()
        try:
            while not (options["max_messages"] and self.received >= options["max_messages"]):
                if deadline and time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        finally:
            client.loop_stop()
            client.disconnect()
        self.stdout.write(f"Stored {self.received} message(s).")

    def _on_connect(self, client, sources, flags, reason_code, properties):
        client.subscribe([(topic, 1) for topic in sources])
        self.stdout.write(f"Subscribed to {', '.join(sources)}")

    def _on_message(self, client, sources, message):
        source = next(
            (source for topic, source in sources.items() if mqtt.topic_matches_sub(topic, message.topic)), None
        )
        close_old_connections()
        raw = message.payload.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")
        failure = "" if raw.encode() == message.payload else "payload is not clean UTF-8 text"
        inbound_message_receive(
            source=source,
            raw=raw,
            transport=Transport.MQTT,
            provenance=f"mqtt topic {message.topic}",
            failure=failure,
            raw_bytes=bytes(message.payload) if failure else None,
        )
        # Committed (inbound_message_receive runs in autocommit): now the broker may forget it.
        client.ack(message.mid, message.qos)
        self.received += 1
