// The GraphQL query page served at GET /graphql: packaged, nothing loaded from elsewhere.
// It shares the dashboard's sign-in (the token in this tab's sessionStorage).

const TOKEN_KEY = "fraisier.token";
const form = document.getElementById("query-form");
const token = document.getElementById("token");
const query = document.getElementById("query");
const variables = document.getElementById("variables");
const result = document.getElementById("result");

token.value = sessionStorage.getItem(TOKEN_KEY) || "";

async function run() {
  let vars;
  try {
    vars = JSON.parse(variables.value || "{}");
  } catch (error) {
    result.textContent = `Variables are not JSON: ${error.message}`;
    return;
  }
  const headers = { "Content-Type": "application/json" };
  if (token.value.trim()) headers.Authorization = `Bearer ${token.value.trim()}`;
  result.textContent = "…";
  try {
    const response = await fetch(location.pathname, {
      method: "POST", headers, credentials: "omit",
      body: JSON.stringify({ query: query.value, variables: vars }),
    });
    const text = await response.text();
    try {
      result.textContent = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      result.textContent = `HTTP ${response.status}\n${text}`;
    }
  } catch (error) {
    result.textContent = `Request failed: ${error.message}`;
  }
}

form.addEventListener("submit", (event) => { event.preventDefault(); run(); });
form.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); run(); }
});
