// tests/e2e/cloudevents_read.js FILE - reads Kafka messages with the CloudEvents
// JavaScript SDK's Kafka protocol binding, an implementation independent of ours.
//
// FILE holds a JSON array of messages as consumed: {topic, partition, offset, key,
// value (the payload as UTF-8 text), headers: [[name, value], ...]}. Prints a JSON
// array with one result per message: {isEvent} (Kafka.isEvent), and when it is one
// {event: the attributes and data of Kafka.toEvent's CloudEvent, valid: validate()
// passed, error: why not}.
"use strict";

const fs = require("fs");
const { Kafka } = require("cloudevents");

const messages = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const results = messages.map((m) => {
    const headers = {};
    for (const [name, value] of m.headers) headers[name] = value;
    const message = { key: m.key, value: m.value, headers };
    const result = { topic: m.topic, partition: m.partition, offset: m.offset };
    result.isEvent = Kafka.isEvent(message);
    if (!result.isEvent) return result;
    try {
        const event = Kafka.toEvent(message);
        if (Array.isArray(event)) throw new Error("a batch, not one event");
        result.event = event.toJSON();
        result.valid = event.validate();
    } catch (e) {
        result.valid = false;
        result.error = String(e && e.message ? e.message : e);
        if (e && e.errors) result.error += " " + JSON.stringify(e.errors);
    }
    return result;
});
process.stdout.write(JSON.stringify(results));
