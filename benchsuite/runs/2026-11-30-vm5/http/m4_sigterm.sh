#!/usr/bin/env bash
# The bad-request suite with curl, and SIGTERM under load.
set -u
B=${B:-/tmp/mk5}
$B serve --map rwlock --addr 127.0.0.1:18092 --body-limit 1024 > serve4.log 2>&1 &
SP=$!
sleep 1
U=http://127.0.0.1:18092
c() { local what="$1"; shift; printf '%-26s ' "$what"; curl -s -o /tmp/body.txt -w '%{http_code} ' "$@"; cat /tmp/body.txt; echo; }
J='Content-Type: application/json'
c "non-numeric id" $U/orders/abc
c "id zero" $U/orders/0
c "id past 2^63-1" $U/orders/9223372036854775808
c "unknown order" $U/orders/999999
c "unknown route" $U/nope
c "wrong method (POST)" -X POST $U/orders/1
c "malformed JSON" -X PUT -H "$J" -d '{"customer":' $U/orders/1
c "not an object" -X PUT -H "$J" -d '[1,2]' $U/orders/1
c "missing field" -X PUT -H "$J" -d '{"customer":"a","items":1}' $U/orders/1
c "unknown field" -X PUT -H "$J" -d '{"customer":"a","items":1,"total_cents":1,"x":1}' $U/orders/1
c "zero items" -X PUT -H "$J" -d '{"customer":"a","items":0,"total_cents":1}' $U/orders/1
c "body id differs" -X PUT -H "$J" -d '{"id":2,"customer":"a","items":1,"total_cents":1}' $U/orders/1
c "not JSON content type" -X PUT -H 'Content-Type: text/plain' -d 'hi' $U/orders/1
c "body over the limit" -X PUT -H "$J" --data-binary "{\"customer\":\"$(head -c 2000 /dev/zero | tr '\0' x)\",\"items\":1,\"total_cents\":1}" $U/orders/1
c "good PUT" -X PUT -H "$J" -d '{"customer":"ada","items":2,"total_cents":999}' $U/orders/70000
c "good GET" $U/orders/70000
echo "== SIGTERM under load: mapknee http at 3000/s for 8 s, SIGTERM to serve at ~4 s"
$B http --url $U --rates 3000 --step 8s --warmup 200ms --connections 32 --format json > sig.json 2> sig.err &
HP=$!
sleep 4.5
curl -s $U/metrics | grep -E '^mapknee_http_requests_in_flight|^mapknee_cache_hits_total'
kill -TERM $SP
wait $SP; echo "serve exit status: $?"
cat serve4.log
wait $HP; echo "http exit status: $?"
grep -v '^mapknee 0' sig.err | head -5
python3 -c "
import json;r=json.load(open('sig.json'));s=r['runs'][0]['steps'][0]
print('arrivals', s['arrivals'], 'ops', s['ops'], 'counters', {k:v for k,v in s['counters'].items() if not k.startswith('server_')})"
