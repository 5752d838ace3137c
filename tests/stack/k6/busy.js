import http from "k6/http";

// Each iteration keeps k6 busy for 4 ms before its request, so k6's one core fills at
// about 250 iterations/s while the service idles: the load generator is the limit.
export default function () {
  const until = Date.now() + 4;
  while (Date.now() < until) {
    // spin
  }
  http.get(`${__ENV.BASE_URL}/hello`, { tags: { name: "hello" } });
}
