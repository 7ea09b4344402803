// Writes the demo's simulated shoppers as JSON lines, the way the feed hands messages out
// ({"tenant","deviceId","enqueuedTimeUtc","body"}), for `omnistream recs evaluate` and
// `omnistream query run`. The journeys are the simulator's own (src/demo/shopper-journeys.ts),
// planned from a fixed seed, one every half second per brand:
//
//   npx tsx demo/sample-events.ts [JOURNEYS_PER_BRAND] > events.jsonl
import { readDemoBrands } from '../src/demo/demo-data.js';
import { JourneyPlanner, seededRandom, type PlannedEvent } from '../src/demo/shopper-journeys.js';

export async function sampleEvents(journeysPerBrand: number, seed = 11, startMs = Date.UTC(2026, 0, 5, 9)): Promise<PlannedEvent[]> {
  const random = seededRandom(seed);
  const events: PlannedEvent[] = [];
  for (const brand of await readDemoBrands()) {
    const planner = new JourneyPlanner(brand, random);
    for (let i = 0; i < journeysPerBrand; i++) events.push(...planner.plan(startMs + i * 500));
  }
  return events.sort((a, b) => a.atMs - b.atMs);
}

/** The device a planned event is sent from: the brand's app of that channel, or the store's reader gateway. */
export function senderId(e: PlannedEvent): string {
  return e.sender.channel === 'sensor' ? `${e.sender.store.toLowerCase()}-rfid` : `${e.tenant}-${e.sender.channel}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const journeys = Number(process.argv[2] ?? 20_000);
  for (const e of await sampleEvents(journeys)) {
    process.stdout.write(`${JSON.stringify({ tenant: e.tenant, deviceId: senderId(e), enqueuedTimeUtc: new Date(e.atMs).toISOString(), body: e.body })}\n`);
  }
}
