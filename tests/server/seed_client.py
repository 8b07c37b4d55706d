"""The seed article's client, unchanged in shape: N simultaneous aiohttp GET requests with a
JSON body {"i_request": i, "text": ...}, gathered at once. Then every answer is compared with
the expected dict (the golden spaCy answer for the text), in key order too.
usage: seed_client.py URL TEXT_FILE EXPECTED_JSON N [simultaneous]
With "simultaneous", every request gets its own connection (aiohttp's default pool holds 100),
so N connections arrive at the server at once."""
import asyncio
import resource
import json
import sys
import time

from aiohttp import ClientSession

api_url, text_file, expected_json, num_requests = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
simultaneous = len(sys.argv) > 5 and sys.argv[5] == "simultaneous"
if simultaneous:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, num_requests + 256)), hard))
text = open(text_file, encoding="utf-8").read()
expected = json.loads(expected_json)


async def fetch(session, i_request):
    async with session.get(api_url, json={"i_request": i_request, "text": text}) as response:
        return response.status, await response.json()


async def main():
    from aiohttp import TCPConnector
    connector = TCPConnector(limit=0, force_close=True) if simultaneous else None
    async with ClientSession(connector=connector) as session:
        return await asyncio.gather(*[fetch(session, i) for i in range(num_requests)])


start = time.perf_counter()
results = asyncio.run(main())
elapsed = time.perf_counter() - start
bad = [r for r in results if r[0] != 200 or r[1] != expected or list(r[1]) != list(expected)]
print(f"{len(results)} answers, {len(results) - len(bad)} equal to the golden dict, {elapsed:.2f} s")
if bad:
    print("first bad answer:", bad[0])
sys.exit(1 if bad or len(results) != num_requests else 0)
