// A real OpenID Connect provider for LearnHub's company sign-in tests: the certified
// `oidc-provider` package with its development sign-in page (any password; the login name
// is the person's e-mail address, as at a company identity provider), one confidential
// client, and consent skipped as a company IdP does for its own applications.
//
//   ISSUER=http://127.0.0.1:PORT PORT=... CLIENT_ID=... CLIENT_SECRET=... REDIRECT_URI=... node server.mjs
//
// It prints "listening" once it accepts connections. Never used outside the tests.
import Provider from "oidc-provider";

const { ISSUER, PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI } = process.env;
for (const [name, value] of Object.entries({ ISSUER, PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI })) {
  if (!value) {
    console.error(`${name} is required`);
    process.exit(2);
  }
}

const provider = new Provider(ISSUER, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [REDIRECT_URI],
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
  ],
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  cookies: { keys: ["learnhub-test-idp-cookie-key"] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        // The subject is the login name; the e-mail claim is the address as typed, in its case.
        return { sub: id, email: id.trim(), email_verified: true, name: id.trim().split("@")[0] };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      return ctx.oidc.provider.Grant.find(grantId);
    }
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid email profile");
    await grant.save();
    return grant;
  },
});

provider.listen(Number(PORT), "127.0.0.1", () => console.log("listening"));
