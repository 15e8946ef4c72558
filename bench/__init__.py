"""Throughput benchmark of the inbound pipeline on this machine (loopback only, stops by itself).

    make bench                                     # or: DEBUG=1 .venv/bin/python -m bench
    make bench BENCH_ARGS="--messages 2000 --batch-sizes 50,1 --workers 2"

Needs PostgreSQL and Redis: DATABASE_URL and REDIS_URL when set, else
postgres://postgres@127.0.0.1:5432/partstatus_bench (created and migrated when missing) and
redis://127.0.0.1:6379/15. Every run adds its own rows (source `bench-<run>`, orders
`B<run>-…`) and uses its own Celery queue; it deletes nothing but its scratch tables. It
dead-letters what an interrupted run left waiting, and refuses to run where messages of other
sources are waiting (its workers would process them): give it a database of its own. There is
no celery beat: the benchmark re-queues its own due retries, as the sweep would.

It measures, and prints as a table (also written to bench/results.json):
1. webhook accepted/s: signed canonical JSON messages POSTed by a pool of client threads to a
   real HTTP server, with no worker running: they pile up in the inbox and the broker. The
   default, uvicorn serving config.asgi in 2 processes (as production runs it, websockets
   included), serves HTTP on a fixed pool of threads per process that keep persistent database
   connections (config.http_threads); --web-server uvicorn-wsgi serves config.wsgi instead;
2. applied/s end to end: N celery workers (concurrency 2) work off that backlog, once per
   INBOUND_BATCH_SIZE tried, timed from the first to the last processed_at;
3. the raw ceiling: a plain psycopg loop doing the same writes per event (an inbox row, an event
   row, a line update) in scratch tables, one transaction per event;
4. the ratio applied/raw.
"""
