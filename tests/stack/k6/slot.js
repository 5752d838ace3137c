import http from "k6/http";
import { check } from "k6";

// One request to the concurrency-bound service's /slot per iteration.
export default function () {
  const res = http.get(`${__ENV.BASE_URL}/slot`, { tags: { name: "slot" } });
  check(res, { "status is 200": (r) => r.status === 200 });
}
