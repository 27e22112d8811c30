# Admit an image only when ocisig verified it and one of its verified SLSA v1 provenance
# statements names a builder on the list in data.allowed_builders.
#
# ocisig does the cryptography: signatures, the statement's subject and predicate type, each
# attestation rule's conditions. Its verdict lists the statements it verified, and only those
# (a denial lists none), so a rule here may trust everything it reads in verdict.statements.
#
# In OPA, with the ocisig bundle loaded (dist/ocisig-opa-bundle.tar.gz, entrypoint
# ocisig/verify), data.ocisig.verify is the ocisig module's verdict for the same input (the
# evidence document); its policy is data.ocisig.policy, with an attestation rule such as
# {"predicateType": "slsaprovenance1"}. Any other host can bind the verdict there itself.
package ocisig.provenance

import rego.v1

slsa_v1 := "https://slsa.dev/provenance/v1"

verdict := data.ocisig.verify

# The builders of the verified SLSA v1 provenance statements.
builders contains statement.predicate.runDetails.builder.id if {
	some statement in verdict.statements
	statement.predicateType == slsa_v1
}

default allow := false

allow if {
	verdict.verified
	some builder in builders
	builder in data.allowed_builders
}

deny contains msg if {
	not verdict.verified
	msg := sprintf("ocisig: %s: %s", [verdict.reason, verdict.message])
}

deny contains msg if {
	verdict.verified
	not allow
	msg := sprintf("no verified SLSA v1 provenance from an allowed builder (verified builders: %v)", [builders])
}
