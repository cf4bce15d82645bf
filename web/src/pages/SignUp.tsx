import { useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link, useNavigate } from "react-router";
import { ApiError, post } from "../api";
import { CredentialFields } from "../components/CredentialFields";
import { openSession } from "./SignIn";

export function SignUp() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const navigate = useNavigate();
  const queryClient = useQueryClient();

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get("email"));
    const password = String(form.get("password"));
    setBusy(true);
    setError(null);
    try {
      // The sign-up answer carries a bearer token for API clients; the console ignores it and
      // opens a cookie session like any sign-in.
      await post("/v1/auth/signup", { email, password, name: String(form.get("name")) });
      await openSession(email, password);
      queryClient.clear();
      navigate("/generate");
    } catch (exc) {
      setError(exc instanceof ApiError ? exc.message : String(exc));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="auth">
      <h1>Create a pixelmill account</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          Name
          <input name="name" autoComplete="name" />
        </label>
        <CredentialFields newPassword />
        {error && <p role="alert">{error}</p>}
        <button type="submit" disabled={busy}>
          Sign up
        </button>
      </form>
      <p>
        Have an account? <Link to="/sign-in">Sign in</Link>
      </p>
    </main>
  );
}
