// Seat kinds as people name them, in the order pages list them.
const KIND_NAME = { standard: "Standard", vip: "VIP", wheelchair: "Wheelchair space", companion: "Companion" };
export const KINDS = Object.keys(KIND_NAME);
export const kindName = (kind) => KIND_NAME[kind] || kind;
