import http from "k6/http";
import { check } from "k6";

// One request of known CPU cost per iteration (the calibrated service's /work).
export default function () {
  const res = http.get(`${__ENV.BASE_URL}/work`, { tags: { name: "work" } });
  check(res, { "status is 200": (r) => r.status === 200 });
}
