// Type-checked (never run) by types.test.mjs: the generated declarations of the
// wasm module give real types, not `any`. Every `@ts-expect-error` line must be
// a type error; if a declaration degraded to `any`, tsc would report the
// directive as unused and the test fails.

import {
  WijkDoc,
  SyncState,
  type View,
  type Row,
  type NewItem,
  type Walk,
  type EditOptions,
} from "../../../pwa/src/wasm/pkg/wijklog_shared.js";

declare const catalog: WijkDoc;

const walk: WijkDoc = WijkDoc.newWalk("id", catalog, "boa-1", { title: "T", wijk: "centrum", team: "t" });
const init: NewItem = { category: "verkeer", severity: "urgent", location: { lat: 1, lon: 2 } };
const id: string = walk.addObservation(catalog, init, { at: 5 } satisfies EditOptions);
walk.spliceText(id, 0, 0, "x");
walk.setFollowUp(catalog, id, "politie", "in_behandeling", null);
walk.recordFeedbackGiven(id, "e-mail", 1);

const view: View = walk.view();
if (view.kind === "walk") {
  const w: Walk = view;
  const text: string | null = w.observations[id].text;
  const lat: number | undefined = w.observations[id].location?.lat;
  void text;
  void lat;
}
const rows: Row[] = walk.project();
const kind: "walk" | "spreekuur" = rows[0].doc_kind;
const heads: string[] = walk.heads();
const pending: number = walk.pendingChanges(heads);
const state = new SyncState();
const msg: Uint8Array | undefined = walk.generateSyncMessage(state);
void [kind, pending, msg];

// @ts-expect-error: severity is a union of the four severities
walk.addObservation(catalog, { category: "verkeer", severity: "kritiek" });
// @ts-expect-error: a category is required
walk.addObservation(catalog, { severity: "urgent" });
// @ts-expect-error: follow-up status is a union
walk.setFollowUp(catalog, id, "politie", "gesloten", null);
// @ts-expect-error: the walk text field is a union
walk.spliceWalkText("weather", 0, 0, "x");
// @ts-expect-error: view() is not any
const notAString: string = walk.view();
// @ts-expect-error: project() rows have no such field
rows[0].colour;
// @ts-expect-error: opts.at is a number
walk.startWalk({ at: "now" });
void notAString;
