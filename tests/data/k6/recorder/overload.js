// More arrivals than two VUs can serve: k6 drops iterations.
import http from 'k6/http';

const BASE = __ENV.BASE_URL;

export const options = {
  scenarios: {
    overload: {
      executor: 'constant-arrival-rate', rate: 150, timeUnit: '1s', duration: '2s',
      preAllocatedVUs: 2, maxVUs: 2,
    },
  },
};

export default function () {
  http.get(`${BASE}/api/items`, { tags: { name: 'list' } });
}
