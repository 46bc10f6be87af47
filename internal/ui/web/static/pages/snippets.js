// The Playground's request as curl, Python (openai) and TypeScript (openai) code.
export function snippets(baseURL, req) {
  const messages = JSON.stringify(req.messages, null, 2);
  const body = JSON.stringify({ model: req.model, messages: req.messages, stream: req.stream || undefined });
  const indent = (s, n) => s.split('\n').join('\n' + ' '.repeat(n));
  return {
    curl: `curl ${baseURL}/chat/completions \\\n  -H "Authorization: Bearer $WEIR_API_KEY" \\\n  -H 'Content-Type: application/json' \\\n  -d '${body.replaceAll("'", "'\\''")}'`,
    Python: `import os\nfrom openai import OpenAI\n\nclient = OpenAI(base_url="${baseURL}", api_key=os.environ["WEIR_API_KEY"])\n` +
      (req.stream
        ? `stream = client.chat.completions.create(\n    model=${JSON.stringify(req.model)},\n    messages=${indent(messages, 4)},\n    stream=True,\n)\nfor chunk in stream:\n    if chunk.choices:\n        print(chunk.choices[0].delta.content or "", end="")\n`
        : `resp = client.chat.completions.create(\n    model=${JSON.stringify(req.model)},\n    messages=${indent(messages, 4)},\n)\nprint(resp.choices[0].message.content)\n`),
    TypeScript: `import OpenAI from "openai";\n\nconst client = new OpenAI({ baseURL: "${baseURL}", apiKey: process.env.WEIR_API_KEY });\n` +
      (req.stream
        ? `const stream = await client.chat.completions.create({\n  model: ${JSON.stringify(req.model)},\n  messages: ${indent(messages, 2)},\n  stream: true,\n});\nfor await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? "");\n`
        : `const resp = await client.chat.completions.create({\n  model: ${JSON.stringify(req.model)},\n  messages: ${indent(messages, 2)},\n});\nconsole.log(resp.choices[0].message.content);\n`),
  };
}
