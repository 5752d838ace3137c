import http from "k6/http";
import { check, sleep } from "k6";

// A fast request, then three seconds of think time: each iteration holds its VU for three
// seconds while its request takes milliseconds.
export default function () {
  const res = http.get(`${__ENV.BASE_URL}/hello`, { tags: { name: "hello" } });
  check(res, { "status is 200": (r) => r.status === 200 });
  sleep(3);
}
