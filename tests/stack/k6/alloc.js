import http from "k6/http";

// Each request makes the service hold 8 more MiB: a small memory limit ends in an OOM kill.
export default function () {
  http.get(`${__ENV.BASE_URL}/alloc?mb=8`, { tags: { name: "alloc" } });
}
