import { useEffect, useState } from "hono/jsx";
import { Api, messageOf, type Principal } from "./api";

/**
 * The token is typed (or pasted) here and kept for this tab only. The form
 * is never submitted (the page's CSP has form-action 'none'), so the token
 * cannot land in a URL, a history entry or a server log.
 */
export function SignIn(props: {
  onSignIn: (token: string, p: Principal) => void;
  error: string | null;
}) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(props.error);
  // Sent back here while the page was open (the token expired or was revoked): say why.
  useEffect(() => setError(props.error), [props.error]);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) return setError("Paste an access token first.");
    setBusy(true);
    setError(null);
    try {
      props.onSignIn(t, await new Api(t, "main").whoami());
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in" id="main">
      <h1>edgefs</h1>
      <form method="post" onSubmit={submit}>
        <label class="field">
          <span>Access token</span>
          <input
            type="password"
            name="token"
            autocomplete="off"
            spellcheck={false}
            value={token}
            aria-describedby="token-help"
            onInput={(e: Event) => setToken((e.target as HTMLInputElement).value)}
          />
        </label>
        <p id="token-help" class="help">
          The root token <code>npm start</code> printed, or a token minted with{" "}
          <code>POST /v1/tokens</code>. It is kept in this tab only.
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
