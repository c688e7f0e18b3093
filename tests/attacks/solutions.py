"""Honest students' answers, written from the exercise text of the released notebooks.

Each answer is the whole solution cell, in a student's own words: a student keeps the
`# UNQ_Cn` line and fills the `None` placeholders. They are deliberately not copied from the
solution notebooks, so the bank also checks that answers in another style are accepted.
"""

GET_HOOK = '''\
# UNQ_C5 (UNIQUE CELL IDENTIFIER, DO NOT EDIT)
def get_hook(model, layer_name):
    """A model returning [activations of `layer_name`, predictions] for the same input."""
    ### START CODE HERE (REPLACE INSTANCES OF 'None' with your code) ###
    layer_output = model.get_layer(layer_name).output
    hook = keras.Model(inputs=model.inputs, outputs=[layer_output, model.outputs[0]])
    ### END CODE HERE ###
    return hook
'''

GET_GRADIENTS = '''\
# UNQ_C6 (UNIQUE CELL IDENTIFIER, DO NOT EDIT)
def get_gradients(model, image, category_index, layer_name):
    """Gradient of class `category_index`'s score with respect to `layer_name`'s activations."""
    ### START CODE HERE (REPLACE INSTANCES OF 'None' with your code) ###
    hook = get_hook(model, layer_name)
    with tf.GradientTape() as tape:
        activations, predictions = hook(image)
        score = predictions[:, category_index]
    gradients = tape.gradient(score, activations)
    ### END CODE HERE ###
    return gradients
'''

PERMUTE_FEATURE = '''\
# UNQ_C3 (UNIQUE CELL IDENTIFIER, DO NOT EDIT)
def permute_feature(df, feature):
    """A copy of `df` with the values of column `feature` randomly permuted."""
    ### START CODE HERE (REPLACE INSTANCES OF 'None' with your code) ###
    permuted_df = df.copy()
    permutation = np.random.permutation(len(df))
    permuted_df[feature] = df[feature].to_numpy()[permutation]
    ### END CODE HERE ###
    return permuted_df
'''

PERMUTATION_IMPORTANCE = '''\
# UNQ_C4 (UNIQUE CELL IDENTIFIER, DO NOT EDIT)
def permutation_importance(X, y, model, metric, num_samples=100):
    """A one-row DataFrame (index ['importance']) with the importance of every column of X."""
    importances = pd.DataFrame(index=["importance"], columns=X.columns)
    ### START CODE HERE (REPLACE INSTANCES OF 'None' with your code) ###
    baseline_performance = metric(y, model.predict_proba(X)[:, 1])
    for feature in X.columns:
        feature_performance_arr = np.zeros(num_samples)
        for sample in range(num_samples):
            permuted_X = permute_feature(X, feature)
            feature_performance_arr[sample] = metric(y, model.predict_proba(permuted_X)[:, 1])
        importances.loc["importance", feature] = baseline_performance - feature_performance_arr.mean()
    ### END CODE HERE ###
    return importances.astype(float)
'''

CLASS_ONE_VALUES = '''\
# UNQ_C7 (UNIQUE CELL IDENTIFIER, DO NOT EDIT)
def class_one_values(raw):
    """Class-1 SHAP values, shape (people, features), from either of shap's return formats."""
    ### START CODE HERE (REPLACE INSTANCES OF 'None' with your code) ###
    values = np.asarray(raw[1]) if isinstance(raw, list) else np.asarray(raw)[..., 1]
    ### END CODE HERE ###
    return values
'''

# grade id of the solution cell -> the honest answer for it.
ANSWERS = {
    "get_hook_solution": GET_HOOK,
    "get_gradients_solution": GET_GRADIENTS,
    "permute_feature_solution": PERMUTE_FEATURE,
    "permutation_importance_solution": PERMUTATION_IMPORTANCE,
    "class_one_values_solution": CLASS_ONE_VALUES,
}
