"""Source systems in (webhooks, MQTT, polling, files) and systems out; built by a later issue."""
