// The AI SDK's own client against agentkit.web: `DefaultChatTransport` (what `useChat` uses)
// posts the chat, parses the stream and validates every chunk against the SDK's chunk
// schema; `readUIMessageStream` builds the UIMessage. Then it approves the waiting tool call
// the way `addToolApprovalResponse` does and reads the continued message.
//
//   node ai_sdk_client.mjs BASE_URL CHAT_ID PROMPT   (copied next to node_modules/ai)
// prints {"first": UIMessage, "second": UIMessage, "resumed": null} as JSON.
import { DefaultChatTransport, readUIMessageStream } from "ai";

const [base, chatId, prompt] = process.argv.slice(2);
const transport = new DefaultChatTransport({ api: base + "/api/chat", headers: { "x-user": "node" } });

async function send(messages, message) {
  const stream = await transport.sendMessages({
    chatId, messages, trigger: "submit-message", messageId: undefined, abortSignal: undefined,
  });
  let last = message;
  const errors = [];
  for await (const m of readUIMessageStream({ message, stream, onError: (e) => errors.push(String(e)), terminateOnError: true })) {
    last = m;
  }
  if (errors.length) throw new Error(errors.join("; "));
  return structuredClone(last);
}

const user = { id: "u1", role: "user", parts: [{ type: "text", text: prompt }] };
const first = await send([user], undefined);
const decided = structuredClone(first);
for (const part of decided.parts) {
  if (part.state === "approval-requested") {
    part.state = "approval-responded";
    part.approval = { ...part.approval, approved: true };
  }
}
const second = await send([user, decided], decided);
// useChat({resume: true}) on a reload: nothing is live now, so the server answers 204 (null).
const resumed = await transport.reconnectToStream({ chatId });
process.stdout.write(JSON.stringify({ first, second, resumed }));
