// Loaded with `node --require` before Azurite starts (localdev/azurite.py); never deployed.
//
// Azurite 3.35.0's queue store calls clearExpiredMessages() on every receive, delete and update
// of a message, and that function passes its (almost always empty) list of expired messages to
// LokiJS's remove(). LokiJS's batch remove rebuilds every binary index of the collection even
// for an empty batch: it sorts every message of the account, delayed ones included. So each
// queue request cost O(n log n) in the messages waiting in the queue: with 4,000 delayed
// messages, 20 receives and 200 deletes took 4.5 s of Azurite's CPU, against 1.8 s with this
// fix (tests/integration/test_azurite_fixes.py checks the fix is in place and that expired
// messages still go). Azure Storage has no such cost, and the engine's benchmarks keep
// thousands of delayed messages in the queue, so without this they measured Azurite.
//
// The replacement is Azurite's own function (MIT, Copyright (c) Microsoft Corporation) with the
// empty batch skipped. It refuses to load over any other version of the function, so an Azurite
// upgrade makes the tests fail here rather than silently drop or double the fix.
"use strict";

const store = require("azurite/dist/src/queue/persistence/LokiQueueMetadataStore").default;

const original = store.prototype.clearExpiredMessages;
const expected = ["expirationTime: { $lte: queryTime }", "coll.remove(docs);"];
if (!expected.every((text) => original.toString().includes(text))) {
  throw new Error(
    "localdev/azurite_fixes.cjs: Azurite's clearExpiredMessages is not the 3.35.0 one this fix " +
      "replaces; check whether the fix is still needed and update it"
  );
}

store.prototype.clearExpiredMessages = async function clearExpiredMessages(account, queue, context) {
  this.checkQueueExist(account, queue, context);
  const coll = this.db.getCollection(this.MESSAGES_COLLECTION);
  const queryTime = new Date().getTime();
  const docs = coll
    .chain()
    .find({ accountName: account, queueName: queue, expirationTime: { $lte: queryTime } })
    .data();
  if (docs.length > 0) {
    coll.remove(docs);
  }
};
store.prototype.clearExpiredMessages.azuriteFix = true;
