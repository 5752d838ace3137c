// The agent's built-in tools. Their results are plain strings, formatted exactly as the
// Python runtime formats them, so both runtimes send the LLM the same conversation.

export const TOOL_DEFINITIONS = [
  {
    type: "function",
    function: {
      name: "calculator",
      description: "Evaluate an arithmetic expression with + - * / and parentheses.",
      parameters: {
        type: "object",
        properties: { expression: { type: "string" } },
        required: ["expression"],
      },
    },
  },
  {
    type: "function",
    function: {
      name: "lookup",
      description: "Look up a city in the reference table.",
      parameters: {
        type: "object",
        properties: { key: { type: "string" } },
        required: ["key"],
      },
    },
  },
];

const CITIES: Record<string, string> = {
  amsterdam: "Amsterdam: country Netherlands, population 931298",
  berlin: "Berlin: country Germany, population 3878100",
  lisbon: "Lisbon: country Portugal, population 567131",
  madrid: "Madrid: country Spain, population 3416771",
  paris: "Paris: country France, population 2113705",
  rome: "Rome: country Italy, population 2755309",
  vienna: "Vienna: country Austria, population 2005760",
  warsaw: "Warsaw: country Poland, population 1863056",
};

const MAX_EXPRESSION_LENGTH = 200;
const MAX_RESULT = 1e15;

class ToolError extends Error {}

// Recursive descent over: expr = term (('+'|'-') term)*, term = factor (('*'|'/') factor)*,
// factor = ('+'|'-') factor | number | '(' expr ')'.
function evaluate(expression: string): number {
  let position = 0;
  const peek = () => {
    while (expression[position] === " ") position++;
    return expression[position];
  };
  const parseExpression = (): number => {
    let value = parseTerm();
    for (let op = peek(); op === "+" || op === "-"; op = peek()) {
      position++;
      const right = parseTerm();
      value = op === "+" ? value + right : value - right;
    }
    return value;
  };
  const parseTerm = (): number => {
    let value = parseFactor();
    for (let op = peek(); op === "*" || op === "/"; op = peek()) {
      position++;
      const right = parseFactor();
      if (op === "/" && right === 0) throw new ToolError("division by zero");
      value = op === "*" ? value * right : value / right;
    }
    return value;
  };
  const parseFactor = (): number => {
    const next = peek();
    if (next === "+" || next === "-") {
      position++;
      const value = parseFactor();
      return next === "-" ? -value : value;
    }
    if (next === "(") {
      position++;
      const value = parseExpression();
      if (peek() !== ")") throw new ToolError("missing closing parenthesis");
      position++;
      return value;
    }
    const match = /^\d+(\.\d+)?/.exec(expression.slice(position));
    if (!match) throw new ToolError(`unexpected input at position ${position}`);
    position += match[0].length;
    return Number(match[0]);
  };
  const value = parseExpression();
  if (peek() !== undefined) throw new ToolError(`unexpected input at position ${position}`);
  return value;
}

// Rounded to 6 decimals; integers without a decimal point; no exponent notation.
export function formatNumber(value: number): string {
  const rounded = Math.floor(value * 1e6 + 0.5) / 1e6;
  if (Number.isInteger(rounded)) return rounded.toFixed(0);
  return rounded.toFixed(6).replace(/0+$/, "");
}

function calculator(args: Record<string, unknown>): string {
  const expression = args.expression;
  if (typeof expression !== "string" || expression.length === 0) {
    return "error: 'expression' must be a non-empty string";
  }
  if (expression.length > MAX_EXPRESSION_LENGTH) return "error: expression too long";
  try {
    const value = evaluate(expression);
    if (!Number.isFinite(value) || Math.abs(value) >= MAX_RESULT) return "error: result out of range";
    return formatNumber(value);
  } catch (error) {
    if (error instanceof ToolError) return `error: ${error.message}`;
    throw error;
  }
}

function lookup(args: Record<string, unknown>): string {
  const key = args.key;
  if (typeof key !== "string" || key.length === 0) return "error: 'key' must be a non-empty string";
  return CITIES[key.toLowerCase()] ?? `error: no entry for '${key}'`;
}

export function runTool(name: string, rawArguments: string): string {
  let args: unknown;
  try {
    args = JSON.parse(rawArguments);
  } catch {
    return "error: arguments are not valid JSON";
  }
  if (!args || typeof args !== "object" || Array.isArray(args)) return "error: arguments must be an object";
  if (name === "calculator") return calculator(args as Record<string, unknown>);
  if (name === "lookup") return lookup(args as Record<string, unknown>);
  return `error: unknown tool '${name}'`;
}
