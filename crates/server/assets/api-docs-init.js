// Starts Swagger UI on /api/docs with Yunshi's OpenAPI document. Everything it loads comes
// from this server: no CDN, no validator badge.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false,
  });
});
