// A small user flow with named steps, one of which fails now and then.
import http from 'k6/http';
import { check, group, sleep } from 'k6';

const BASE = __ENV.BASE_URL;

export default function () {
  group('browse', function () {
    const list = http.get(`${BASE}/api/items`, { tags: { name: 'list' } });
    check(list, { 'list is 200': (r) => r.status === 200 });
    http.get(`${BASE}/api/items/${__ITER % 20}`, { tags: { name: 'item' } });
  });
  const flaky = http.get(`${BASE}/api/flaky`, { tags: { name: 'flaky' } });
  check(flaky, { 'flaky is 200': (r) => r.status === 200 });
  sleep(0.1);
}
