// Swagger UI on /openapi.json. A file of its own, not an inline script: the page's
// Content-Security-Policy allows scripts from this server only.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // The default asks validator.swagger.io about the document: nothing leaves this server.
  validatorUrl: null,
});
