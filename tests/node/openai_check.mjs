// The official openai Node package against pixelmill: OPENAI_BASE_URL and OPENAI_API_KEY name the
// server and a key, as for OpenAI itself. Prints one JSON object of what came back, for the Python
// test to check (tests/integration/dialects/test_openai_node.py).
import OpenAI, { AuthenticationError, BadRequestError, NotFoundError } from "openai";

const client = new OpenAI({ maxRetries: 0 });
const result = {};

const image = await client.images.generate({ model: "local/procedural", prompt: "a lighthouse", n: 2, size: "128x96" });
result.images = image.data.map((item) => item.b64_json);
result.imageSize = image.size;

const chat = await client.chat.completions.create({
  model: "local/smollm2",
  messages: [{ role: "user", content: "Say hello." }],
  max_tokens: 16,
  temperature: 0,
});
result.chat = chat.choices[0].message.content;

const stream = await client.chat.completions.create({
  model: "local/smollm2",
  messages: [{ role: "user", content: "Say hello." }],
  max_tokens: 16,
  temperature: 0,
  stream: true,
});
result.streamed = "";
for await (const chunk of stream) {
  result.streamed += chunk.choices[0]?.delta?.content ?? "";
}

const speech = await client.audio.speech.create({ model: "local/espeak", voice: "nova", input: "Hello.", response_format: "wav" });
result.speech = Buffer.from(await speech.arrayBuffer()).toString("base64");

result.models = [];
for await (const model of client.models.list()) {
  result.models.push(model.id);
}

async function failure(call, type) {
  try {
    await call();
    return null;
  } catch (error) {
    return { class: error instanceof type ? type.name : error.constructor.name, status: error.status, param: error.param ?? null, code: error.code ?? null };
  }
}

result.badRequest = await failure(() => client.images.generate({ model: "local/procedural", prompt: "x", size: "huge" }), BadRequestError);
result.notFound = await failure(() => client.images.generate({ model: "nope", prompt: "x" }), NotFoundError);
const stranger = new OpenAI({ apiKey: "pm_live_wrong", maxRetries: 0 });
result.unauthenticated = await failure(() => stranger.models.list(), AuthenticationError);

console.log(JSON.stringify(result));
