import http from "k6/http";

// Each request carries the instant its iteration began, on k6's clock, so a test can place
// the load's start from k6's own data, independently of tierbench's meta.
export default function () {
  http.get(`${__ENV.BASE_URL}/hello`, { tags: { name: "hello", iter_start: `${Date.now()}` } });
}
